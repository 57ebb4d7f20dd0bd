// Wycheproof aes_gcm_test.json against aesGcmSeal/aesGcmOpen on every back end. Our AES-GCM
// takes only 96-bit nonces, 128- or 256-bit keys and 128-bit tags (all MLS and HPKE need);
// every other case must be refused with a CryptoError, never computed and never skipped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CryptoError, type PlatformPrimitives } from '@ghostproof/crypto';
import { platformVariants, nodePlatform } from './helpers/platforms.js';
import {
  assertExercised,
  flipBit,
  fromHex,
  loadWycheproof,
  toHex,
  type WycheproofCase,
  type WycheproofTest,
} from './helpers/vectors.js';

interface AeadTest extends WycheproofTest {
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
}
interface AeadGroup {
  readonly ivSize: number;
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly AeadTest[];
}
type AeadCase = WycheproofCase<AeadGroup, AeadTest>;

const cases = loadWycheproof<AeadTest, AeadGroup>('aes_gcm_test.json');

const supportedNonce = (g: AeadGroup) => g.ivSize === 96;
const supportedKey = (g: AeadGroup) => g.keySize === 128 || g.keySize === 256;
const supportedTag = (g: AeadGroup) => g.tagSize === 128;
const inScope = ({ group }: AeadCase) => supportedNonce(group) && supportedKey(group) && supportedTag(group);

const validInScope = cases.filter((c) => inScope(c) && c.test.result === 'valid');
const invalidInScope = cases.filter((c) => inScope(c) && c.test.result === 'invalid');
const outOfScope = cases.filter((c) => !inScope(c));
// Truncated tags cannot be expressed through our API at all (the tag is always the last 16
// bytes); the file has none today, and any added later would land in the refused bucket.

const bytesOf = ({ test }: AeadCase) => ({
  key: fromHex(test.key),
  iv: fromHex(test.iv),
  aad: fromHex(test.aad),
  msg: fromHex(test.msg),
  sealed: fromHex(test.ct + test.tag),
});

/** tcIds whose seal does not give exactly ct || tag. */
async function sealMismatches(
  platform: PlatformPrimitives,
  selected: readonly AeadCase[],
): Promise<number[]> {
  const failed: number[] = [];
  for (const c of selected) {
    const { key, iv, aad, msg } = bytesOf(c);
    const sealed = await platform.aesGcmSeal(key, iv, aad, msg);
    if (toHex(sealed) !== c.test.ct + c.test.tag) failed.push(c.test.tcId);
  }
  return failed;
}

/** tcIds of forged ciphertexts that open instead of being rejected with 'decrypt-failed'. */
async function acceptedForgeries(
  platform: PlatformPrimitives,
  selected: readonly AeadCase[],
): Promise<number[]> {
  const accepted: number[] = [];
  for (const c of selected) {
    const { key, iv, aad, sealed } = bytesOf(c);
    try {
      await platform.aesGcmOpen(key, iv, aad, sealed);
      accepted.push(c.test.tcId);
    } catch (err) {
      assert.ok(CryptoError.is(err, 'decrypt-failed'), `tcId ${c.test.tcId}: ${String(err)}`);
    }
  }
  return accepted;
}

/** The refusal expected for parameters outside our API; the nonce or key check may come first. */
function expectedCodes({ group }: AeadCase): readonly string[] {
  const codes: string[] = [];
  if (!supportedNonce(group) || !supportedTag(group)) codes.push('invalid-input');
  if (!supportedKey(group)) codes.push('invalid-key');
  return codes;
}

describe('Wycheproof aes_gcm_test.json: what falls in scope', () => {
  it('exercises every case: in scope, or refused as outside our parameters', () => {
    assertExercised('valid in-scope', validInScope.length, 79);
    assertExercised('invalid in-scope', invalidInScope.length, 54);
    assertExercised('out-of-scope', outOfScope.length, 183);
    assert.equal(validInScope.length + invalidInScope.length + outOfScope.length, cases.length);
  });
});

for (const variant of platformVariants) {
  describe(`Wycheproof aes_gcm_test.json on ${variant.name}`, () => {
    it('seals every valid vector to exactly its ciphertext and tag', async () => {
      const platform = await variant.platform();
      assert.deepEqual(await sealMismatches(platform, validInScope), []);
      assertExercised('valid', validInScope.length, 79);
    });

    it('opens every valid vector to its plaintext', async () => {
      const platform = await variant.platform();
      for (const c of validInScope) {
        const { key, iv, aad, sealed } = bytesOf(c);
        const opened = await platform.aesGcmOpen(key, iv, aad, sealed);
        assert.equal(toHex(opened), c.test.msg, `tcId ${c.test.tcId}`);
      }
      assertExercised('valid', validInScope.length, 79);
    });

    it('rejects every ciphertext with a modified tag, and never produces one', async () => {
      const platform = await variant.platform();
      assert.deepEqual(await acceptedForgeries(platform, invalidInScope), []);
      // The forged ct || tag is not what an honest seal of the same inputs gives either.
      const reproduced = await sealMismatches(platform, invalidInScope);
      assert.equal(reproduced.length, invalidInScope.length, 'a seal reproduced a forged tag');
      assertExercised('invalid', invalidInScope.length, 54);
    });

    it('refuses other nonce sizes and 192-bit keys with a CryptoError instead of computing', async () => {
      const platform = await variant.platform();
      for (const c of outOfScope) {
        const { key, iv, aad, msg, sealed } = bytesOf(c);
        const codes = expectedCodes(c);
        const refused = (err: unknown) => CryptoError.is(err) && codes.includes(err.code);
        // The calls are passed as promises, not thunks: a synchronous throw fails the test.
        await assert.rejects(platform.aesGcmSeal(key, iv, aad, msg), refused, `seal, tcId ${c.test.tcId}`);
        await assert.rejects(platform.aesGcmOpen(key, iv, aad, sealed), refused, `open, tcId ${c.test.tcId}`);
      }
      assertExercised('out-of-scope', outOfScope.length, 183);
    });
  });
}

describe('Wycheproof aes_gcm_test.json negative controls', () => {
  it('fails against a back end that flips one bit of what it seals', async () => {
    const honest = await nodePlatform.platform();
    const broken: PlatformPrimitives = {
      ...honest,
      aesGcmSeal: async (key, nonce, aad, plaintext) =>
        flipBit(await honest.aesGcmSeal(key, nonce, aad, plaintext)),
    };
    const failed = await sealMismatches(broken, validInScope);
    assert.equal(failed.length, validInScope.length);
  });

  it('fails against a back end that opens without checking the tag', async () => {
    const honest = await nodePlatform.platform();
    const broken: PlatformPrimitives = {
      ...honest,
      aesGcmOpen: (_key, _nonce, _aad, ciphertext) => Promise.resolve(new Uint8Array(ciphertext.length - 16)),
    };
    const accepted = await acceptedForgeries(broken, invalidInScope);
    assert.equal(accepted.length, invalidInScope.length);
  });
});
