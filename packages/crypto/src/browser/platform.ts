// WebCrypto primitives for browsers. Signing and key-agreement keys are imported once as
// non-extractable CryptoKeys and cached per key array (key-cache.ts, which also evicts them);
// where a browser lacks Ed25519 or X25519 in WebCrypto, @noble/curves stands in. X25519
// public keys are always computed with @noble/curves, since WebCrypto cannot derive one from
// a non-extractable private key.
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { HashName } from '../ciphersuite.js';
import { concatBytes, constantTimeEqual, utf8 } from '../bytes.js';
import { CryptoError } from '../errors.js';
import { KeyCache, secretKeyCache } from '../key-cache.js';
import type { Ed25519Primitives, PlatformPrimitives, X25519Primitives } from '../platform.js';

const ED25519_PKCS8 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const X25519_PKCS8 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const MAX_RANDOM_CHUNK = 65536;

/** WebCrypto wants ArrayBuffer-backed views; this is a no-copy cast for the usual case. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

const FINGERPRINT_LABEL = utf8('ghostproof key cache v1\0');

/** A one-way fingerprint of a secret key: what the cache compares instead of keeping a copy. */
function fingerprint(raw: Uint8Array): Uint8Array {
  return sha256.create().update(FINGERPRINT_LABEL).update(raw).digest();
}

// One set of caches for the page, shared by every webPrimitives() (all import through the same
// globalThis.crypto.subtle); forgetSecretKeys reaches the secret ones. Public keys are not
// secret: their entries keep a copy of the bytes, which is cheaper to compare.
const signingKeys = secretKeyCache<Promise<CryptoKey>>(fingerprint);
const agreementKeys = secretKeyCache<Promise<CryptoKey>>(fingerprint);
const verifyingKeys = new KeyCache<Promise<CryptoKey>>((raw) => raw.slice());

function cachedImport(
  cache: KeyCache<Promise<CryptoKey>>,
  raw: Uint8Array,
  importKey: (raw: Uint8Array) => Promise<CryptoKey>,
): Promise<CryptoKey> {
  return cache.get(raw, (bytes) => {
    const key = importKey(bytes);
    // A failed import must not stay cached.
    key.catch(() => cache.forgetIfHolding(raw, key));
    return key;
  });
}

/** Imports a PKCS#8 private key and zeroes the DER copy of the secret it was built from. */
async function importPkcs8(
  subtle: SubtleCrypto,
  prefix: Uint8Array,
  secret: Uint8Array,
  algorithm: AlgorithmIdentifier,
  usages: KeyUsage[],
): Promise<CryptoKey> {
  const der = concatBytes(prefix, secret);
  try {
    return await subtle.importKey('pkcs8', buf(der), algorithm, false, usages);
  } finally {
    der.fill(0);
  }
}

function ed25519Seed(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length === 32) return secretKey;
  if (secretKey.length === 48 && constantTimeEqual(secretKey.subarray(0, 16), ED25519_PKCS8)) {
    return secretKey.subarray(16);
  }
  throw new CryptoError('invalid-key', 'ed25519: secret key must be a 32-byte seed or PKCS#8');
}

async function supports(subtle: SubtleCrypto, algorithm: string, usages: KeyUsage[]): Promise<boolean> {
  try {
    await subtle.generateKey({ name: algorithm }, false, usages);
    return true;
  } catch {
    return false;
  }
}

function webEd25519(subtle: SubtleCrypto): Ed25519Primitives {
  return {
    async sign(secretKey, message) {
      const key = await cachedImport(signingKeys, secretKey, (raw) =>
        importPkcs8(subtle, ED25519_PKCS8, ed25519Seed(raw), 'Ed25519', ['sign']),
      );
      return new Uint8Array(await subtle.sign('Ed25519', key, buf(message)));
    },
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        const key = await cachedImport(verifyingKeys, publicKey, (raw) =>
          subtle.importKey('raw', buf(raw), 'Ed25519', false, ['verify']),
        );
        return await subtle.verify('Ed25519', key, buf(signature), buf(message));
      } catch {
        return false;
      }
    },
    async generate() {
      const pair = await subtle.generateKey('Ed25519', true, ['sign', 'verify']);
      const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey));
      const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
      const secretKey = pkcs8.slice(16);
      pkcs8.fill(0);
      return { secretKey, publicKey };
    },
  };
}

function nobleEd25519(): Ed25519Primitives {
  return {
    sign: async (secretKey, message) => ed25519.sign(message, ed25519Seed(secretKey)),
    async verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      try {
        // zip215: false gives RFC 8032's strict verification, as OpenSSL and BoringSSL do.
        return ed25519.verify(signature, message, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },
    async generate() {
      const secretKey = ed25519.utils.randomSecretKey();
      return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
    },
  };
}

function checkX25519(name: string, key: Uint8Array): void {
  if (key.length !== 32) throw new CryptoError('invalid-key', `x25519: ${name} must be 32 bytes`);
}

function webX25519(subtle: SubtleCrypto): X25519Primitives {
  return {
    async publicKeyOf(secretKey) {
      checkX25519('secret key', secretKey);
      return x25519.getPublicKey(secretKey);
    },
    async sharedSecret(secretKey, publicKey) {
      checkX25519('secret key', secretKey);
      checkX25519('public key', publicKey);
      const privateKey = await cachedImport(agreementKeys, secretKey, (raw) =>
        importPkcs8(subtle, X25519_PKCS8, raw, { name: 'X25519' }, ['deriveBits']),
      );
      const peer = await subtle.importKey('raw', buf(publicKey), { name: 'X25519' }, false, []);
      return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, privateKey, 256));
    },
  };
}

function nobleX25519(): X25519Primitives {
  return {
    async publicKeyOf(secretKey) {
      checkX25519('secret key', secretKey);
      return x25519.getPublicKey(secretKey);
    },
    async sharedSecret(secretKey, publicKey) {
      checkX25519('secret key', secretKey);
      checkX25519('public key', publicKey);
      return x25519.getSharedSecret(secretKey, publicKey);
    },
  };
}

export interface WebPrimitivesOptions {
  /** Use @noble/curves for Ed25519 and X25519 even where WebCrypto has them (for tests). */
  readonly forceNobleCurves?: boolean;
}

/** Builds the primitives over `globalThis.crypto`, probing once which curves WebCrypto offers. */
export async function webPrimitives(options: WebPrimitivesOptions = {}): Promise<PlatformPrimitives> {
  const webcrypto = globalThis.crypto;
  if (!webcrypto?.subtle) {
    throw new CryptoError(
      'unsupported-ciphersuite',
      'WebCrypto is not available (a secure context is required)',
    );
  }
  const subtle = webcrypto.subtle;
  const useWebEd25519 = !options.forceNobleCurves && (await supports(subtle, 'Ed25519', ['sign', 'verify']));
  const useWebX25519 = !options.forceNobleCurves && (await supports(subtle, 'X25519', ['deriveBits']));

  const hmacKey = (hash: HashName, key: Uint8Array) =>
    // WebCrypto refuses a zero-length HMAC key; HMAC pads keys with zeros, so one zero byte is
    // the same key (RFC 2104 §2).
    subtle.importKey('raw', buf(key.length === 0 ? new Uint8Array(1) : key), { name: 'HMAC', hash }, false, [
      'sign',
    ]);
  const aesKey = (key: Uint8Array, usage: KeyUsage) => {
    if (key.length !== 16 && key.length !== 32) {
      throw new CryptoError('invalid-key', 'aes-gcm: key must be 16 or 32 bytes');
    }
    return subtle.importKey('raw', buf(key), { name: 'AES-GCM' }, false, [usage]);
  };
  const checkNonce = (nonce: Uint8Array) => {
    if (nonce.length !== 12) throw new CryptoError('invalid-input', 'aes-gcm: nonce must be 12 bytes');
  };

  return {
    name: `WebCrypto (Ed25519: ${useWebEd25519 ? 'WebCrypto' : 'noble'}, X25519: ${useWebX25519 ? 'WebCrypto' : 'noble'})`,
    randomBytes(length) {
      const out = new Uint8Array(length);
      for (let offset = 0; offset < length; offset += MAX_RANDOM_CHUNK) {
        webcrypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_RANDOM_CHUNK)));
      }
      return out;
    },
    async digest(hash, data) {
      return new Uint8Array(await subtle.digest(hash, buf(data)));
    },
    async hmac(hash, key, data) {
      return new Uint8Array(await subtle.sign('HMAC', await hmacKey(hash, key), buf(data)));
    },
    async aesGcmSeal(key, nonce, aad, plaintext) {
      checkNonce(nonce);
      const cryptoKey = await aesKey(key, 'encrypt');
      const params = { name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 };
      return new Uint8Array(await subtle.encrypt(params, cryptoKey, buf(plaintext)));
    },
    async aesGcmOpen(key, nonce, aad, ciphertext) {
      checkNonce(nonce);
      const cryptoKey = await aesKey(key, 'decrypt');
      if (ciphertext.length < 16) throw new CryptoError('decrypt-failed', 'aes-gcm: ciphertext too short');
      const params = { name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 };
      try {
        return new Uint8Array(await subtle.decrypt(params, cryptoKey, buf(ciphertext)));
      } catch (cause) {
        throw new CryptoError('decrypt-failed', 'aes-gcm: authentication failed', { cause });
      }
    },
    ed25519: useWebEd25519 ? webEd25519(subtle) : nobleEd25519(),
    x25519: useWebX25519 ? webX25519(subtle) : nobleX25519(),
  };
}
