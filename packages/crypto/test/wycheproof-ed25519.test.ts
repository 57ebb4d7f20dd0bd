// Wycheproof ed25519_test.json against ed25519.verify on every back end: each valid signature
// verifies, and each invalid one (malleable S, non-canonical encodings, truncated or padded
// signatures) is refused with `false`. verify never throws on attacker-chosen input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { platformVariants } from './helpers/platforms.js';
import { assertExercised, fromHex, loadWycheproof, type WycheproofTest } from './helpers/vectors.js';

interface EddsaTest extends WycheproofTest {
  readonly msg: string;
  readonly sig: string;
}
interface EddsaGroup {
  readonly publicKey: { readonly pk: string };
  readonly tests: readonly EddsaTest[];
}

const cases = loadWycheproof<EddsaTest, EddsaGroup>('ed25519_test.json');
const valid = cases.filter((c) => c.test.result === 'valid');
const invalid = cases.filter((c) => c.test.result === 'invalid');

for (const variant of platformVariants) {
  describe(`Wycheproof ed25519_test.json on ${variant.name}`, () => {
    it('accepts every valid signature', async () => {
      const platform = await variant.platform();
      for (const { group, test } of valid) {
        const ok = await platform.ed25519.verify(
          fromHex(group.publicKey.pk),
          fromHex(test.msg),
          fromHex(test.sig),
        );
        assert.equal(ok, true, `tcId ${test.tcId} ${test.comment ?? ''}`);
      }
      assertExercised('valid', valid.length, 88);
    });

    it('refuses every forged, malleable or malformed signature with false, never an exception', async () => {
      const platform = await variant.platform();
      for (const { group, test } of invalid) {
        // Awaited inside the loop: a throw or rejection fails the test, as it should.
        const ok = await platform.ed25519.verify(
          fromHex(group.publicKey.pk),
          fromHex(test.msg),
          fromHex(test.sig),
        );
        assert.equal(ok, false, `tcId ${test.tcId} ${test.comment ?? ''} [${test.flags.join(', ')}]`);
      }
      assertExercised('invalid', invalid.length, 63);
    });
  });
}
