// The back ends' caches of parsed secret keys (key-cache.ts), on node:crypto and on the
// WebCrypto build (run here on Node's WebCrypto; apps/web/test runs the protocol-level checks
// in Chromium): explicit eviction with forgetSecretKeys, and no stale use of a zeroed array.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  forgetSecretKeys,
  unsafeTestingCachedSecretKeyCount,
  unsafeTestingIsSecretKeyCached,
} from '@ghostproof/crypto';
import { platformVariants } from './helpers/platforms.js';

/** The X25519 base point (u = 9): a valid peer key for every back end. */
const BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));
const message = new TextEncoder().encode('a message to sign');

// @noble/curves parses nothing ahead of time, so the variant that forces it has no cache.
const cachingVariants = platformVariants.filter((v) => !v.name.includes('noble'));

for (const variant of cachingVariants) {
  describe(`secret key caches on ${variant.name}`, () => {
    it('forgetSecretKeys drops the parsed keys of the arrays it names, and only those', async () => {
      const platform = await variant.platform();
      const [signing, otherSigning] = [await platform.ed25519.generate(), await platform.ed25519.generate()];
      const [agreement, otherAgreement] = [platform.randomBytes(32), platform.randomBytes(32)];
      const count = unsafeTestingCachedSecretKeyCount();
      for (const { secretKey } of [signing, otherSigning]) await platform.ed25519.sign(secretKey, message);
      for (const secretKey of [agreement, otherAgreement])
        await platform.x25519.sharedSecret(secretKey, BASE_POINT);
      const all = [signing.secretKey, otherSigning.secretKey, agreement, otherAgreement];
      assert.ok(all.every(unsafeTestingIsSecretKeyCached));

      forgetSecretKeys([signing.secretKey, agreement]);
      assert.equal(unsafeTestingIsSecretKeyCached(signing.secretKey), false);
      assert.equal(unsafeTestingIsSecretKeyCached(agreement), false);
      assert.equal(unsafeTestingIsSecretKeyCached(otherSigning.secretKey), true);
      assert.equal(unsafeTestingIsSecretKeyCached(otherAgreement), true);
      assert.ok(unsafeTestingCachedSecretKeyCount() <= count + 2);

      // A forgotten key that is used again is parsed again, and works.
      const signature = await platform.ed25519.sign(signing.secretKey, message);
      assert.equal(await platform.ed25519.verify(signing.publicKey, message, signature), true);
      forgetSecretKeys(all);
      assert.ok(!all.some(unsafeTestingIsSecretKeyCached));
    });

    it('a zeroed key array no longer signs as the key it held, though only eviction drops its entry', async () => {
      const platform = await variant.platform();
      const { secretKey, publicKey } = await platform.ed25519.generate();
      await platform.ed25519.sign(secretKey, message);
      secretKey.fill(0);
      // Zeroing alone leaves the parsed key in the cache: that is what forgetSecretKeys is for.
      assert.equal(unsafeTestingIsSecretKeyCached(secretKey), true);
      const signature = await platform.ed25519.sign(secretKey, message);
      assert.equal(await platform.ed25519.verify(publicKey, message, signature), false);
      forgetSecretKeys([secretKey]);
      assert.equal(unsafeTestingIsSecretKeyCached(secretKey), false);
    });
  });
}
