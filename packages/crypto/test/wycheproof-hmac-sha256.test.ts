// Wycheproof hmac_sha256_test.json against platform.hmac on every back end. Our HMAC always
// returns the full 32-byte tag; the file also holds tags truncated to 128 bits, which are
// compared with the prefix of ours. A modified tag must never equal that prefix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { platformVariants } from './helpers/platforms.js';
import { assertExercised, fromHex, loadWycheproof, toHex, type WycheproofTest } from './helpers/vectors.js';

interface MacTest extends WycheproofTest {
  readonly key: string;
  readonly msg: string;
  readonly tag: string;
}
interface MacGroup {
  readonly keySize: number;
  readonly tagSize: number;
  readonly tests: readonly MacTest[];
}

const cases = loadWycheproof<MacTest, MacGroup>('hmac_sha256_test.json');
const valid = cases.filter((c) => c.test.result === 'valid');
const invalid = cases.filter((c) => c.test.result === 'invalid');
const truncated = (c: (typeof cases)[number]) => c.group.tagSize < 256;

for (const variant of platformVariants) {
  describe(`Wycheproof hmac_sha256_test.json on ${variant.name}`, () => {
    it('computes every valid tag, full-length or truncated to its prefix', async () => {
      const platform = await variant.platform();
      for (const { group, test } of valid) {
        const tag = await platform.hmac('SHA-256', fromHex(test.key), fromHex(test.msg));
        assert.equal(tag.length, 32);
        assert.equal(test.tag.length, group.tagSize / 4, `tcId ${test.tcId}: tag size`);
        assert.equal(toHex(tag.subarray(0, group.tagSize / 8)), test.tag, `tcId ${test.tcId}`);
      }
      assertExercised('valid', valid.length, 66);
      assertExercised('valid truncated', valid.filter(truncated).length, 33);
    });

    it('never produces a modified tag', async () => {
      const platform = await variant.platform();
      for (const { group, test } of invalid) {
        const tag = await platform.hmac('SHA-256', fromHex(test.key), fromHex(test.msg));
        assert.notEqual(toHex(tag.subarray(0, group.tagSize / 8)), test.tag, `tcId ${test.tcId}`);
      }
      assertExercised('invalid', invalid.length, 108);
      assertExercised('invalid truncated', invalid.filter(truncated).length, 54);
    });
  });
}
