// node:crypto primitives (OpenSSL). Ed25519 and X25519 keys are parsed into KeyObjects once
// and cached per key array (key-cache.ts, which also evicts them); AES-GCM and HMAC take raw
// keys, which OpenSSL imports cheaply.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomFillSync,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import type { HashName } from '../ciphersuite.js';
import { concatBytes, utf8 } from '../bytes.js';
import { CryptoError } from '../errors.js';
import { KeyCache, secretKeyCache } from '../key-cache.js';
import type { PlatformPrimitives } from '../platform.js';

// DER prefixes of PKCS#8 private keys and SPKI public keys for the two curves (RFC 8410).
const ED25519_PKCS8 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const ED25519_SPKI = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);
const X25519_PKCS8 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const X25519_SPKI = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

const nodeHash: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-512': 'sha512' };

/** A standalone Uint8Array with the bytes of a Buffer that may sit in Node's shared pool. */
function own(buffer: Buffer): Uint8Array {
  const out = new Uint8Array(buffer.length);
  out.set(buffer);
  return out;
}

const FINGERPRINT_LABEL = utf8('ghostproof key cache v1\0');

/** A one-way fingerprint of a secret key: what the cache compares instead of keeping a copy. */
function fingerprint(raw: Uint8Array): Uint8Array {
  return createHash('sha256').update(FINGERPRINT_LABEL).update(raw).digest();
}

// One set of caches for the process: every nodePrimitives() shares them, and
// forgetSecretKeys reaches the secret ones. Public keys are not secret: their entries keep a
// copy of the bytes, which is cheaper to compare.
const signingKeys = secretKeyCache<KeyObject>(fingerprint);
const agreementKeys = secretKeyCache<KeyObject>(fingerprint);
const verifyingKeys = new KeyCache<KeyObject>((raw) => raw.slice());

/** Parses a PKCS#8 private key and zeroes the DER copy of the secret it was built from. */
function parsePkcs8(prefix: Uint8Array, secret: Uint8Array): KeyObject {
  const der = concatBytes(prefix, secret);
  try {
    // A view, not a copy, so that zeroing `der` zeroes what OpenSSL read.
    return createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: 'der',
      type: 'pkcs8',
    });
  } finally {
    der.fill(0);
  }
}

function ed25519Seed(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length === 32) return secretKey;
  // WebCrypto-made keys (ts-mls's default provider) arrive as PKCS#8.
  if (secretKey.length === 48 && timingSafeEqual(secretKey.subarray(0, 16), ED25519_PKCS8)) {
    return secretKey.subarray(16);
  }
  throw new CryptoError('invalid-key', 'ed25519: secret key must be a 32-byte seed or PKCS#8');
}

function aesCipherName(key: Uint8Array): 'aes-128-gcm' | 'aes-256-gcm' {
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 32) return 'aes-256-gcm';
  throw new CryptoError('invalid-key', 'aes-gcm: key must be 16 or 32 bytes');
}

function checkNonce(nonce: Uint8Array): void {
  if (nonce.length !== 12) throw new CryptoError('invalid-input', 'aes-gcm: nonce must be 12 bytes');
}

export function nodePrimitives(): PlatformPrimitives {
  const parseEd25519Secret = (raw: Uint8Array) => parsePkcs8(ED25519_PKCS8, ed25519Seed(raw));
  const parseEd25519Public = (raw: Uint8Array) =>
    createPublicKey({ key: Buffer.from(concatBytes(ED25519_SPKI, raw)), format: 'der', type: 'spki' });
  const parseX25519Secret = (raw: Uint8Array) => {
    if (raw.length !== 32) throw new CryptoError('invalid-key', 'x25519: secret key must be 32 bytes');
    return parsePkcs8(X25519_PKCS8, raw);
  };
  const parseX25519Public = (raw: Uint8Array) => {
    if (raw.length !== 32) throw new CryptoError('invalid-key', 'x25519: public key must be 32 bytes');
    return createPublicKey({ key: Buffer.from(concatBytes(X25519_SPKI, raw)), format: 'der', type: 'spki' });
  };
  const rawPublic = (key: KeyObject) => own(key.export({ format: 'der', type: 'spki' }).subarray(12));

  return {
    name: 'node:crypto',
    randomBytes(length) {
      return randomFillSync(new Uint8Array(length));
    },
    async digest(hash, data) {
      return own(createHash(nodeHash[hash]).update(data).digest());
    },
    async hmac(hash, key, data) {
      return own(createHmac(nodeHash[hash], key).update(data).digest());
    },
    async aesGcmSeal(key, nonce, aad, plaintext) {
      checkNonce(nonce);
      const cipher = createCipheriv(aesCipherName(key), key, nonce, { authTagLength: 16 });
      cipher.setAAD(aad);
      const head = cipher.update(plaintext);
      const tail = cipher.final();
      return concatBytes(head, tail, cipher.getAuthTag());
    },
    async aesGcmOpen(key, nonce, aad, ciphertext) {
      checkNonce(nonce);
      const name = aesCipherName(key);
      if (ciphertext.length < 16) throw new CryptoError('decrypt-failed', 'aes-gcm: ciphertext too short');
      try {
        const decipher = createDecipheriv(name, key, nonce, { authTagLength: 16 });
        decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
        decipher.setAAD(aad);
        const head = decipher.update(ciphertext.subarray(0, ciphertext.length - 16));
        const tail = decipher.final();
        return concatBytes(head, tail);
      } catch (cause) {
        throw new CryptoError('decrypt-failed', 'aes-gcm: authentication failed', { cause });
      }
    },
    ed25519: {
      async sign(secretKey, message) {
        const key = signingKeys.get(secretKey, parseEd25519Secret);
        return own(nodeSign(null, message, key));
      },
      async verify(publicKey, message, signature) {
        if (publicKey.length !== 32 || signature.length !== 64) return false;
        try {
          return nodeVerify(null, message, verifyingKeys.get(publicKey, parseEd25519Public), signature);
        } catch {
          return false;
        }
      },
      async generate() {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        const der = privateKey.export({ format: 'der', type: 'pkcs8' });
        const secretKey = own(der.subarray(16));
        der.fill(0);
        signingKeys.get(secretKey, () => privateKey);
        return { secretKey, publicKey: rawPublic(publicKey) };
      },
    },
    x25519: {
      async publicKeyOf(secretKey) {
        // Uses a parsed key if agreement left one, but never caches one itself: public keys
        // are computed for keys being made, which ts-mls copies and drops.
        const privateKey = agreementKeys.lookup(secretKey) ?? parseX25519Secret(secretKey);
        return rawPublic(createPublicKey(privateKey));
      },
      async sharedSecret(secretKey, publicKey) {
        const privateKey = agreementKeys.get(secretKey, parseX25519Secret);
        const shared = diffieHellman({ privateKey, publicKey: parseX25519Public(publicKey) });
        try {
          return own(shared);
        } finally {
          shared.fill(0);
        }
      },
    },
  };
}
