// The X-Wing known answers of draft-connolly-cfrg-xwing-kem (xwing/test-vectors.json: seed →
// sk, pk; eseed → ct, ss) against our X-Wing KEM, which composes @noble/post-quantum's
// ML-KEM-768 with the platform's X25519: every platform back end runs them. The deterministic
// encapsulation goes through `xwingEncapsulateDerand` (our `encap` draws its own eseed) and
// is also compared with @noble/post-quantum's own XWing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XWing } from '@noble/post-quantum/hybrid.js';
import { CryptoError } from '@ghostproof/crypto';
import { makeXWingKem, xwingEncapsulateDerand } from '../src/xwing.js';
import { nodePlatform, platformVariants } from './helpers/platforms.js';
import { flipBit, fromHex, loadVectors, toHex } from './helpers/vectors.js';

interface XWingVector {
  readonly seed: string;
  readonly sk: string;
  readonly pk: string;
  readonly eseed: string;
  readonly ct: string;
  readonly ss: string;
}

const vectors = loadVectors<XWingVector[]>('xwing/test-vectors.json');
const PUBLIC_KEY_LENGTH = 1216;
const CIPHERTEXT_LENGTH = 1120;
/** Where the X25519 ephemeral key sits in the ciphertext (after the ML-KEM ciphertext). */
const X25519_PART = CIPHERTEXT_LENGTH - 32;

const kemOf = async () => makeXWingKem(await nodePlatform.platform());
const first = () => vectors[0]!;

describe('X-Wing test vectors (draft-connolly-cfrg-xwing-kem)', () => {
  it('loads every vector with the draft’s sizes', () => {
    assert.ok(vectors.length >= 3, `expected at least 3 vectors, found ${vectors.length}`);
    for (const v of vectors) {
      assert.equal(v.pk.length / 2, PUBLIC_KEY_LENGTH);
      assert.equal(v.ct.length / 2, CIPHERTEXT_LENGTH);
      assert.equal(v.ss.length / 2, 32);
    }
  });

  it('uses the 32-byte seed as the secret key and derives the expected public key from it', async () => {
    const kem = await kemOf();
    for (const v of vectors) {
      assert.equal(v.sk, v.seed, 'the draft’s secret key is the seed');
      assert.equal(toHex(await kem.publicKeyOf(fromHex(v.seed))), v.pk);
    }
    assert.ok(vectors.length >= 3);
  });

  it('encapsulates deterministically from eseed to the expected ciphertext and shared secret', () => {
    for (const v of vectors) {
      const { cipherText, sharedSecret } = XWing.encapsulate(fromHex(v.pk), fromHex(v.eseed));
      assert.equal(toHex(cipherText), v.ct);
      assert.equal(toHex(sharedSecret), v.ss);
    }
    assert.ok(vectors.length >= 3);
  });

  it('decapsulates every ciphertext to the expected shared secret', async () => {
    const kem = await kemOf();
    for (const v of vectors) {
      assert.equal(toHex(await kem.decap(fromHex(v.ct), fromHex(v.sk))), v.ss);
    }
    assert.ok(vectors.length >= 3);
  });

  it('an encapsulation by our KEM to a vector key decapsulates to the same secret', async () => {
    const kem = await kemOf();
    for (const v of vectors) {
      const { enc, sharedSecret } = await kem.encap(fromHex(v.pk));
      assert.equal(enc.length, CIPHERTEXT_LENGTH);
      assert.equal(toHex(await kem.decap(enc, fromHex(v.sk))), toHex(sharedSecret));
    }
    assert.ok(vectors.length >= 3);
  });

  it('leaves the recipient’s public key intact, so it can be encapsulated to again', async () => {
    const kem = await kemOf();
    const { pk, sk } = first();
    const publicKey = fromHex(pk);
    for (let round = 0; round < 2; round++) {
      const { enc, sharedSecret } = await kem.encap(publicKey);
      assert.equal(toHex(publicKey), pk, `public key altered by encapsulation ${round + 1}`);
      assert.deepEqual(await kem.decap(enc, fromHex(sk)), sharedSecret);
    }
  });
});

for (const variant of platformVariants) {
  describe(`X-Wing test vectors on ${variant.name}`, () => {
    it('derives keys, encapsulates from eseed and decapsulates exactly as the vectors say', async () => {
      const platform = await variant.platform();
      const kem = makeXWingKem(platform);
      for (const v of vectors) {
        assert.equal(toHex(await kem.publicKeyOf(fromHex(v.seed))), v.pk);
        const { enc, sharedSecret } = await xwingEncapsulateDerand(platform, fromHex(v.pk), fromHex(v.eseed));
        assert.equal(toHex(enc), v.ct);
        assert.equal(toHex(sharedSecret), v.ss);
        assert.equal(toHex(await kem.decap(fromHex(v.ct), fromHex(v.sk))), v.ss);
      }
      assert.ok(vectors.length >= 3);
    });
  });
}

describe('X-Wing under attack', () => {
  it('answers a ciphertext with a flipped bit in its ML-KEM part with a different secret, not an error', async () => {
    const kem = await kemOf();
    for (const v of vectors) {
      const tampered = flipBit(fromHex(v.ct), 100, 3);
      const ss = await kem.decap(tampered, fromHex(v.sk));
      assert.equal(ss.length, 32);
      assert.notEqual(toHex(ss), v.ss);
    }
    assert.ok(vectors.length >= 3);
  });

  it('answers a ciphertext with a flipped bit in its X25519 part with a different secret', async () => {
    const kem = await kemOf();
    for (const v of vectors) {
      const tampered = flipBit(fromHex(v.ct), X25519_PART + 5, 1);
      assert.notEqual(toHex(await kem.decap(tampered, fromHex(v.sk))), v.ss);
    }
    assert.ok(vectors.length >= 3);
  });

  it('refuses a ciphertext of the wrong length with kem-failed', async () => {
    const kem = await kemOf();
    const { ct, sk } = first();
    // Wrapped in async functions: our KEM may throw before returning a promise.
    for (const wrong of [fromHex(ct).subarray(1), fromHex(ct + '00'), new Uint8Array(0)]) {
      await assert.rejects(
        async () => kem.decap(wrong, fromHex(sk)),
        (err) => CryptoError.is(err, 'kem-failed'),
        `${wrong.length}-byte ciphertext`,
      );
    }
  });

  it('refuses a public key of the wrong length with invalid-key', async () => {
    const kem = await kemOf();
    const { pk } = first();
    for (const wrong of [fromHex(pk).subarray(1), fromHex(pk + '00'), new Uint8Array(0)]) {
      await assert.rejects(
        async () => kem.encap(wrong),
        (err) => CryptoError.is(err, 'invalid-key'),
        `${wrong.length}-byte public key`,
      );
    }
  });

  it('refuses a public key whose ML-KEM part has a coefficient not reduced mod q (FIPS 203 §7.2)', async () => {
    const kem = await kemOf();
    const pk = fromHex(first().pk);
    // The first 12-bit coefficient is bytes 0 and the low half of byte 1, little-endian.
    const first4095 = pk.slice();
    first4095[0] = 0xff;
    first4095[1] = first4095[1]! | 0x0f;
    // q itself (3329 = 0xd01) in the last coefficient, the high 12 bits of bytes 1150..1151.
    const lastIsQ = pk.slice();
    lastIsQ[1150] = (lastIsQ[1150]! & 0x0f) | 0x10;
    lastIsQ[1151] = 0xd0;
    for (const [label, bad] of [
      ['first coefficient 4095', first4095],
      ['last coefficient q', lastIsQ],
    ] as const) {
      assert.throws(
        () => kem.checkPublicKey(bad),
        (err) => CryptoError.is(err, 'invalid-key'),
        label,
      );
      await assert.rejects(
        async () => kem.encap(bad),
        (err) => CryptoError.is(err, 'invalid-key'),
        label,
      );
    }
    // The same key, reduced, is accepted.
    kem.checkPublicKey(pk);
  });

  it('refuses a secret key that is not a 32-byte seed', async () => {
    const kem = await kemOf();
    const { ct, sk } = first();
    for (const wrong of [fromHex(sk).subarray(1), fromHex(sk + '00')]) {
      await assert.rejects(
        async () => kem.decap(fromHex(ct), wrong),
        (err) => CryptoError.is(err, 'invalid-key'),
      );
      await assert.rejects(
        async () => kem.publicKeyOf(wrong),
        (err) => CryptoError.is(err, 'invalid-key'),
      );
    }
  });
});
