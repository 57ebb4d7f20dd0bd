// DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1, on the platform's X25519 and HMAC.
// The platform caches a parsed key per secret-key array it agrees with. Only the keys ts-mls
// holds and decapsulates with stay cached (their owner evicts them with forgetSecretKeys);
// ephemeral keys are forgotten and zeroed as soon as they have been used.
import { concatBytes, expectBytes, i2osp, isAllZero, utf8 } from './bytes.js';
import { CryptoError } from './errors.js';
import { makeHkdf } from './hkdf.js';
import { labeledKdf, type Kem } from './hpke.js';
import { forgetSecretKeys } from './key-cache.js';
import type { PlatformPrimitives } from './platform.js';

const KEM_ID = 0x0020;
const KEY_LENGTH = 32;

export function makeDhkemX25519(platform: PlatformPrimitives): Kem {
  const { labeledExtract, labeledExpand } = labeledKdf(
    makeHkdf(platform, 'SHA-256'),
    concatBytes(utf8('KEM'), i2osp(KEM_ID, 2)),
  );
  const empty = new Uint8Array(0);

  async function dh(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    let shared: Uint8Array;
    try {
      shared = await platform.x25519.sharedSecret(secretKey, publicKey);
    } catch (cause) {
      throw new CryptoError('kem-failed', 'x25519: key agreement failed', { cause });
    }
    // RFC 9180 §7.1.4: a small-order peer key yields zero; abort rather than derive from it.
    if (isAllZero(shared)) throw new CryptoError('kem-failed', 'x25519: peer key has small order');
    return shared;
  }

  async function extractAndExpand(dhOutput: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
    const eaePrk = await labeledExtract(empty, 'eae_prk', dhOutput);
    return labeledExpand(eaePrk, 'shared_secret', kemContext, 32);
  }

  const kem: Kem = {
    id: KEM_ID,
    secretKeyLength: KEY_LENGTH,
    publicKeyLength: KEY_LENGTH,
    encLength: KEY_LENGTH,
    async generateKeyPair() {
      const secretKey = platform.randomBytes(KEY_LENGTH);
      return { secretKey, publicKey: await platform.x25519.publicKeyOf(secretKey) };
    },
    async deriveKeyPair(ikm) {
      expectBytes('ikm', ikm);
      const dkpPrk = await labeledExtract(empty, 'dkp_prk', ikm);
      const secretKey = await labeledExpand(dkpPrk, 'sk', empty, KEY_LENGTH);
      dkpPrk.fill(0);
      return { secretKey, publicKey: await platform.x25519.publicKeyOf(secretKey) };
    },
    async publicKeyOf(secretKey) {
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== KEY_LENGTH) {
        throw new CryptoError('invalid-key', 'x25519: secret key must be 32 bytes');
      }
      return platform.x25519.publicKeyOf(secretKey);
    },
    checkPublicKey(publicKey) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_LENGTH) {
        throw new CryptoError('invalid-key', 'x25519: public key must be 32 bytes');
      }
    },
    async encap(publicKey) {
      kem.checkPublicKey(publicKey);
      const ephemeral = platform.randomBytes(KEY_LENGTH);
      try {
        // Agreement first: it parses the key into the cache, which publicKeyOf then reuses.
        const shared = await dh(ephemeral, publicKey);
        const enc = await platform.x25519.publicKeyOf(ephemeral);
        return { enc, sharedSecret: await extractAndExpand(shared, concatBytes(enc, publicKey)) };
      } finally {
        forgetSecretKeys([ephemeral]);
        ephemeral.fill(0);
      }
    },
    async decap(enc, secretKey) {
      kem.checkPublicKey(enc);
      const shared = await dh(secretKey, enc);
      const publicKey = await kem.publicKeyOf(secretKey);
      return extractAndExpand(shared, concatBytes(enc, publicKey));
    },
  };
  return kem;
}
