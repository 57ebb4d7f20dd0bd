// Wycheproof hkdf_sha256_test.json and hkdf_sha512_test.json against our two-step HKDF
// (makeHkdf: extract, then expand) on every back end's HMAC. Output lengths above 255 hash
// blocks are refused with CryptoError 'invalid-input' (RFC 5869 §2.3).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CryptoError, type HashName, type PlatformPrimitives } from '@ghostproof/crypto';
import { makeHkdf } from '../src/hkdf.js';
import { nodePlatform, platformVariants } from './helpers/platforms.js';
import {
  assertExercised,
  flipBit,
  fromHex,
  loadWycheproof,
  toHex,
  type WycheproofCase,
  type WycheproofTest,
} from './helpers/vectors.js';

interface HkdfTest extends WycheproofTest {
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly size: number;
  readonly okm: string;
}
interface HkdfGroup {
  readonly keySize: number;
  readonly tests: readonly HkdfTest[];
}
type HkdfCase = WycheproofCase<HkdfGroup, HkdfTest>;

const files = [
  { file: 'hkdf_sha256_test.json', hash: 'SHA-256', minValid: 83, minInvalid: 3 },
  { file: 'hkdf_sha512_test.json', hash: 'SHA-512', minValid: 80, minInvalid: 3 },
] as const satisfies readonly { file: string; hash: HashName; minValid: number; minInvalid: number }[];

async function derive(platform: PlatformPrimitives, hash: HashName, { test }: HkdfCase): Promise<Uint8Array> {
  const hkdf = makeHkdf(platform, hash);
  const prk = await hkdf.extract(fromHex(test.salt), fromHex(test.ikm));
  return hkdf.expand(prk, fromHex(test.info), test.size);
}

/** tcIds whose derived output is not the expected okm. */
async function okmMismatches(
  platform: PlatformPrimitives,
  hash: HashName,
  selected: readonly HkdfCase[],
): Promise<number[]> {
  const failed: number[] = [];
  for (const c of selected) {
    if (toHex(await derive(platform, hash, c)) !== c.test.okm) failed.push(c.test.tcId);
  }
  return failed;
}

for (const { file, hash, minValid, minInvalid } of files) {
  const cases = loadWycheproof<HkdfTest, HkdfGroup>(file);
  const valid = cases.filter((c) => c.test.result === 'valid');
  const invalid = cases.filter((c) => c.test.result === 'invalid');

  for (const variant of platformVariants) {
    describe(`Wycheproof ${file} on ${variant.name}`, () => {
      it('derives the expected output for every valid case, including empty salts and maximal lengths', async () => {
        const platform = await variant.platform();
        assert.deepEqual(await okmMismatches(platform, hash, valid), []);
        assertExercised('valid', valid.length, minValid);
      });

      it('refuses an output longer than 255 blocks with invalid-input', async () => {
        const platform = await variant.platform();
        for (const c of invalid) {
          await assert.rejects(
            derive(platform, hash, c),
            (err) => CryptoError.is(err, 'invalid-input'),
            `tcId ${c.test.tcId} ${c.test.comment ?? ''}`,
          );
        }
        assertExercised('invalid', invalid.length, minInvalid);
      });
    });
  }

  describe(`Wycheproof ${file} negative control`, () => {
    it('fails against a back end whose HMAC flips one bit of its output', async () => {
      const honest = await nodePlatform.platform();
      const broken: PlatformPrimitives = {
        ...honest,
        hmac: async (h, key, data) => flipBit(await honest.hmac(h, key, data), 0, 7),
      };
      const failed = await okmMismatches(broken, hash, valid);
      assert.equal(failed.length, valid.length);
    });
  });
}
