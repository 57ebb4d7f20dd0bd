// The back ends' caches of parsed secret keys (key-cache.ts), on node:crypto and on the
// WebCrypto build (run here on Node's WebCrypto; apps/web/test runs the protocol-level checks
// in Chromium): explicit eviction with forgetSecretKeys, no stale use of a zeroed array, and
// KEMs that leave nothing cached but the HPKE private key ts-mls decapsulates with.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ciphersuiteParams,
  forgetSecretKeys,
  makeCryptoProvider,
  supportedCiphersuites,
  unsafeTestingCachedSecretKeyCount,
  unsafeTestingIsSecretKeyCached,
  type PlatformPrimitives,
} from '@ghostproof/crypto';
import { makeDhkemX25519 } from '../src/dhkem-x25519.js';
import { makeXWingKem } from '../src/xwing.js';
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

    for (const params of supportedCiphersuites.map((id) => ciphersuiteParams(id)!)) {
      it(`${params.kem}: making, encapsulating to and deriving keys leaves no secret key cached`, async () => {
        const platform: PlatformPrimitives = await variant.platform();
        const kem = params.kem === 'X-Wing' ? makeXWingKem(platform) : makeDhkemX25519(platform);
        const count = unsafeTestingCachedSecretKeyCount();
        const generated = await kem.generateKeyPair();
        const derived = await kem.deriveKeyPair(platform.randomBytes(32));
        await kem.publicKeyOf(derived.secretKey);
        const { enc } = await kem.encap(generated.publicKey);
        assert.equal(unsafeTestingCachedSecretKeyCount(), count);
        assert.equal(unsafeTestingIsSecretKeyCached(generated.secretKey), false);
        assert.equal(unsafeTestingIsSecretKeyCached(derived.secretKey), false);

        // Decapsulating caches the recipient's key array itself under DHKEM (its owner evicts
        // it); X-Wing expands its seed for each use and leaves nothing.
        await kem.decap(enc, generated.secretKey);
        const dhkem = params.kem !== 'X-Wing';
        assert.equal(unsafeTestingIsSecretKeyCached(generated.secretKey), dhkem);
        assert.equal(unsafeTestingCachedSecretKeyCount(), count + (dhkem ? 1 : 0));
        forgetSecretKeys([generated.secretKey]);
        assert.equal(unsafeTestingCachedSecretKeyCount(), count);

        // Control: the count does see an entry that is left behind.
        const leftBehind = platform.randomBytes(32);
        await platform.x25519.sharedSecret(leftBehind, BASE_POINT);
        assert.equal(unsafeTestingCachedSecretKeyCount(), count + 1);
        forgetSecretKeys([leftBehind]);
      });

      it(`${params.kem}: the provider caches the very array ts-mls imports, so evicting that array works`, async () => {
        const platform = await variant.platform();
        const impl = await makeCryptoProvider(platform).getCiphersuiteImpl(params.id);
        const { privateKey, publicKey } = await impl.hpke.generateKeyPair();
        const stateKey = await impl.hpke.exportPrivateKey(privateKey);
        const { ct, enc } = await impl.hpke.seal(publicKey, message, new Uint8Array(0));
        const opened = await impl.hpke.open(
          await impl.hpke.importPrivateKey(stateKey),
          enc,
          ct,
          new Uint8Array(0),
        );
        assert.deepEqual(opened, message);
        assert.equal(unsafeTestingIsSecretKeyCached(stateKey), params.kem !== 'X-Wing');
        forgetSecretKeys([stateKey]);
        assert.equal(unsafeTestingIsSecretKeyCached(stateKey), false);
      });
    }
  });
}
