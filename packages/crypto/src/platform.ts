// The primitives a platform supplies. Each back end (node:crypto, WebCrypto) implements this
// once; the MLS provider, HPKE and the KEMs are built on top of it in platform-neutral code.
// Implementations return standalone arrays (never views into shared memory): ts-mls zeroes
// some secrets in place. Secret keys used to sign or agree may be kept parsed per key array
// until `forgetSecretKeys` (key-cache.ts) is called for that array: whoever retires a key
// calls it.
import type { HashName } from './ciphersuite.js';

export interface Ed25519Primitives {
  /**
   * `secretKey` is the 32-byte seed (RFC 8032), or a 48-byte PKCS#8 wrapping of it. May keep
   * it parsed until forgetSecretKeys is called for that array.
   */
  sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /** False for a bad signature and for malformed keys or signatures; never throws on them. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  generate(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }>;
}

export interface X25519Primitives {
  /** Never leaves `secretKey` cached (it may use a parsed key that sharedSecret cached). */
  publicKeyOf(secretKey: Uint8Array): Promise<Uint8Array>;
  /**
   * The raw X25519 output; the caller rejects the all-zero result. May keep `secretKey`
   * parsed until forgetSecretKeys is called for that array.
   */
  sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
}

export interface PlatformPrimitives {
  readonly name: string;
  randomBytes(length: number): Uint8Array;
  digest(hash: HashName, data: Uint8Array): Promise<Uint8Array>;
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** AES-GCM with a 12-byte nonce and a 16-byte tag appended to the ciphertext. */
  aesGcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Throws CryptoError('decrypt-failed') for any inauthentic input. */
  aesGcmOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
  ): Promise<Uint8Array>;
  readonly ed25519: Ed25519Primitives;
  readonly x25519: X25519Primitives;
}
