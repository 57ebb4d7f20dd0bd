// RFC 9381 ECVRF-EDWARDS25519-SHA512-ELL2 against the RFC's example vectors (Appendix B.4,
// Examples 19-21; the ELL2 examples, B.3 being the TAI suite), including the intermediate
// values H, k, U = k*B and V = k*H, then altered proofs and keys that must be rejected.
//
// The vectors were transcribed from RFC 9381 Appendix B.4 as reproduced, identically, by
// several independent public implementations (pi and beta in five, H/k/U/V in one plus the U
// and V embedded in Cardano's draft-13 batch-compatible proofs, which are derived from them).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519, ed25519_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import {
  KtError,
  vrfEncodeToCurve,
  vrfProofToHash,
  vrfProve,
  vrfPublicKey,
  vrfValidatePublicKey,
  vrfVerify,
} from '../src/index.js';
import { concatBytes, fromHex, toHex, utf8 } from '../src/bytes.js';

interface Example {
  readonly name: string;
  readonly sk: string;
  readonly pk: string;
  readonly alpha: string;
  readonly h: string;
  readonly k: string;
  readonly u: string;
  readonly v: string;
  readonly pi: string;
  readonly beta: string;
}

const examples: readonly Example[] = [
  {
    name: 'Example 19 (empty alpha)',
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    h: 'b8066ebbb706c72b64390324e4a3276f129569eab100c26b9f05011200c1bad9',
    k: '55cbb247af9b8372259a97b2cfec656d78868deb33b203d51b9961c364522400',
    u: '762f5c178b68f0cddcc1157918edf45ec334ac8e8286601a3256c3bbf858edd9',
    v: '4652eba1c4612e6fce762977a59420b451e12964adbe4fbecd58a7aeff5860af',
    pi:
      '7d9c633ffeee27349264cf5c667579fc583b4bda63ab71d001f89c10003ab46f' +
      '14adf9a3cd8b8412d9038531e865c341' +
      'cafa73589b023d14311c331a9ad15ff2fb37831e00f0acaa6d73bc9997b06501',
    beta:
      '9d574bf9b8302ec0fc1e21c3ec5368269527b87b462ce36dab2d14ccf80c53cc' +
      'cf6758f058c5b1c856b116388152bbe509ee3b9ecfe63d93c3b4346c1fbc6c54',
  },
  {
    name: 'Example 20 (alpha = 0x72)',
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    h: '76ac3ccb86158a9104dff819b1ca293426d305fd76b39b13c9356d9b58c08e57',
    k: '9565956daeedf376cad61b829b2a4d21ba1b52e9b3e2457477a64630a9711003',
    u: '8ec26e77b8cb3114dd2265fe1564a4efb40d109aa3312536d93dfe3d8d80a061',
    v: 'fe799eb5770b4e3a5a27d22518bb631db183c8316bb552155f442c62a47d1c8b',
    pi:
      '47b327393ff2dd81336f8a2ef10339112401253b3c714eeda879f12c509072ef' +
      '055b48372bb82efbdce8e10c8cb9a2f9' +
      'd60e93908f93df1623ad78a86a028d6bc064dbfc75a6a57379ef855dc6733801',
    beta:
      '38561d6b77b71d30eb97a062168ae12b667ce5c28caccdf76bc88e093e463598' +
      '7cd96814ce55b4689b3dd2947f80e59aac7b7675f8083865b46c89b2ce9cc735',
  },
  {
    name: 'Example 21 (alpha = 0xaf82)',
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    alpha: 'af82',
    h: '13d2a8b5ca32db7e98094a61f656a08c6c964344e058879a386a947a4e189ed1',
    k: '1fda4077f737098b3f361c33a36cccafd7e9e9b720e1f84011254e25f37eed02',
    u: 'a012f35433df219a88ab0f9481f4e0065d00422c3285f3d34a8b0202f20bac60',
    v: 'fb613986d171b3e98319c7ca4dc44c5dd8314a6e5616c1a4f16ce72bd7a0c25a',
    pi:
      '926e895d308f5e328e7aa159c06eddbe56d06846abf5d98c2512235eaa57fdce' +
      '35b46edfc655bc828d44ad09d1150f31' +
      '374e7ef73027e14760d42e77341fe05467bb286cc2c9d7fde29120a0b2320d04',
    beta:
      '121b7f9b9aaaa29099fc04a94ba52784d44eac976dd1a3cca458733be5cd090a' +
      '7b5fbd148444f17f8daf1fb55cb04b1ae85a626e30a54b4b0f8abf4a43314a58',
  },
];

const ORDER = ed25519.Point.CURVE().n;

function leInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function leBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

function rejects(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => KtError.is(err, 'verification-failed'));
}

describe('RFC 9381 ECVRF-EDWARDS25519-SHA512-ELL2 (Appendix B.4)', () => {
  for (const ex of examples) {
    describe(ex.name, () => {
      const sk = fromHex(ex.sk);
      const pk = fromHex(ex.pk);
      const alpha = fromHex(ex.alpha);

      it('derives PK from SK', () => {
        assert.equal(toHex(vrfPublicKey(sk)), ex.pk);
      });

      it('encodes alpha to the curve point H (encode_to_curve salted with PK)', () => {
        assert.equal(toHex(vrfEncodeToCurve(pk, alpha)), ex.h);
      });

      it('derives the nonce k, U = k*B and V = k*H of the example', () => {
        // ECVRF_nonce_generation_RFC8032: k = SHA-512(SHA-512(SK)[32..64] || h_string) mod q.
        const k = leInt(sha512(concatBytes(sha512(sk).subarray(32), fromHex(ex.h)))) % ORDER;
        assert.equal(toHex(leBytes(k, 32)), ex.k);
        assert.equal(toHex(ed25519.Point.BASE.multiply(k).toBytes()), ex.u);
        assert.equal(toHex(ed25519.Point.fromBytes(fromHex(ex.h)).multiply(k).toBytes()), ex.v);
      });

      it('proves: pi matches byte for byte', () => {
        assert.equal(toHex(vrfProve(sk, alpha)), ex.pi);
      });

      it('verifies pi and outputs beta; proof_to_hash agrees', () => {
        assert.equal(toHex(vrfVerify(pk, alpha, fromHex(ex.pi))), ex.beta);
        assert.equal(toHex(vrfProofToHash(fromHex(ex.pi))), ex.beta);
      });

      it('rejects a proof with a bit flipped in Gamma, c or s', () => {
        const pi = fromHex(ex.pi);
        for (const bit of [0, 7, 100, 255, 256, 300, 383, 384, 500, 636]) {
          rejects(() => vrfVerify(pk, alpha, flipBit(pi, bit)));
        }
      });

      it('rejects the proof under the wrong public key and for the wrong alpha', () => {
        const other = examples.find((e) => e !== ex)!;
        rejects(() => vrfVerify(fromHex(other.pk), alpha, fromHex(ex.pi)));
        rejects(() => vrfVerify(pk, concatBytes(alpha, new Uint8Array([0])), fromHex(ex.pi)));
        rejects(() => vrfVerify(pk, fromHex(other.alpha === ex.alpha ? '00' : other.alpha), fromHex(ex.pi)));
      });

      it('rejects a non-canonical s (s + q), which would otherwise be a second proof', () => {
        const pi = fromHex(ex.pi);
        const s = leInt(pi.subarray(48));
        const forged = concatBytes(pi.subarray(0, 48), leBytes(s + ORDER, 32));
        // The forged s still satisfies the verification equation modulo q; only the range check stops it.
        assert.ok(s + ORDER < 2n ** 256n);
        rejects(() => vrfVerify(pk, alpha, forged));
      });

      it('rejects a truncated or extended proof', () => {
        const pi = fromHex(ex.pi);
        rejects(() => vrfVerify(pk, alpha, pi.subarray(0, 79)));
        rejects(() => vrfVerify(pk, alpha, concatBytes(pi, new Uint8Array([0]))));
      });
    });
  }

  it('uses the DST of RFC 9381 §5.4.1.2, not the hash-to-curve default', () => {
    const pk = fromHex(examples[0]!.pk);
    const plain = ed25519_hasher.encodeToCurve(pk).toBytes();
    assert.notEqual(toHex(plain), examples[0]!.h);
    const salted = ed25519_hasher
      .encodeToCurve(pk, {
        DST: concatBytes(utf8('ECVRF_edwards25519_XMD:SHA-512_ELL2_NU_'), new Uint8Array([4])),
      })
      .toBytes();
    assert.equal(toHex(salted), examples[0]!.h);
  });

  it('rejects public keys of small order (validate_key, §5.4.5)', () => {
    for (const hex of [
      '0100000000000000000000000000000000000000000000000000000000000000', // the identity
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2: y = -1
      '0000000000000000000000000000000000000000000000000000000000000000', // order 4: y = 0
      '0000000000000000000000000000000000000000000000000000000000000080', // order 4, x negative
      '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
      'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
    ]) {
      assert.equal(vrfValidatePublicKey(fromHex(hex)), false, hex);
      rejects(() => vrfVerify(fromHex(hex), new Uint8Array(0), fromHex(examples[0]!.pi)));
    }
    assert.equal(vrfValidatePublicKey(fromHex(examples[0]!.pk)), true);
  });

  it('a forged proof under the identity key verifies without validate_key, and vrfVerify refuses it', () => {
    // With Y = O, anyone can prove any alpha maps to hash(O): pick k, Gamma = O, s = k.
    const { Point } = ed25519;
    const identity = Point.ZERO.toBytes();
    const alpha = utf8('alice');
    const h = Point.fromBytes(vrfEncodeToCurve(identity, alpha));
    const k = 123456789n;
    const u = Point.BASE.multiply(k);
    const v = h.multiply(k);
    const challenge = (points: readonly (typeof u)[]) =>
      leInt(
        sha512(
          concatBytes(new Uint8Array([4, 2]), ...points.map((p) => p.toBytes()), new Uint8Array([0])),
        ).subarray(0, 16),
      );
    const c = challenge([Point.ZERO, h, Point.ZERO, u, v]);
    const forged = concatBytes(identity, leBytes(c, 16), leBytes(k, 32));
    // Negative control: the verification equations of §5.3 alone accept the forgery.
    const uCheck = Point.BASE.multiplyUnsafe(k).subtract(Point.ZERO.multiplyUnsafe(c));
    const vCheck = h.multiplyUnsafe(k).subtract(Point.ZERO.multiplyUnsafe(c));
    assert.equal(challenge([Point.ZERO, h, Point.ZERO, uCheck, vCheck]), c);
    // The defence: validate_key rejects the key before the equations are consulted.
    rejects(() => vrfVerify(identity, alpha, forged));
  });

  it('rejects a non-canonical public key encoding (y >= p)', () => {
    // y = p + 1 encodes the same point as y = 1 but is not canonical.
    const nonCanonical = fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    assert.equal(vrfValidatePublicKey(nonCanonical), false);
  });

  it('proves and verifies random inputs, and the output depends only on (key, alpha)', () => {
    for (let i = 0; i < 4; i++) {
      const sk = ed25519.utils.randomSecretKey();
      const alpha = crypto.getRandomValues(new Uint8Array(i * 17));
      const pi = vrfProve(sk, alpha);
      const beta = vrfVerify(vrfPublicKey(sk), alpha, pi);
      assert.deepEqual(vrfProve(sk, alpha), pi);
      assert.equal(beta.length, 64);
    }
  });

  it('refuses wrong-sized keys and oversized inputs with invalid-input, naming no secret', () => {
    assert.throws(
      () => vrfProve(new Uint8Array(31), new Uint8Array(0)),
      (err: unknown) => KtError.is(err, 'invalid-input') && !err.message.includes('00'),
    );
    assert.throws(
      () => vrfVerify(fromHex(examples[0]!.pk), new Uint8Array(2000), fromHex(examples[0]!.pi)),
      (err: unknown) => KtError.is(err, 'invalid-input'),
    );
  });
});
