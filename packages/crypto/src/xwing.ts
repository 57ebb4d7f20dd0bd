// X-Wing (draft-connolly-cfrg-xwing-kem) as an HPKE KEM. ML-KEM-768 and SHA-3 come from
// @noble/post-quantum and @noble/hashes; X25519 comes from the platform (OpenSSL in Node,
// WebCrypto in browsers), which is about twenty times faster than pure JavaScript and makes
// X-Wing commits several times cheaper. The composition is the draft's: the seed expands
// with SHAKE256 into the ML-KEM and X25519 keys, and the shared secret is
// SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ XWingLabel). The draft's vectors check it.
// The serialized secret key is the 32-byte seed; DeriveKeyPair is SHAKE256(ikm, 32) as the
// seed, as the draft's HPKE section and ts-mls's default provider define it.
// The keys expanded from a seed, and ephemeral keys, live for one operation: they are zeroed
// and their parsed X25519 keys forgotten before it returns, so the platform's key cache never
// holds an X-Wing secret (a seed is expanded again on each use).
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { concatBytes, expectBytes } from './bytes.js';
import { CryptoError } from './errors.js';
import type { Kem } from './hpke.js';
import { forgetSecretKeys } from './key-cache.js';
import type { PlatformPrimitives } from './platform.js';

const KEM_ID = 0x647a;
const SEED_LENGTH = 32;
const ML_KEM_PUBLIC_KEY_LENGTH = 1184;
const ML_KEM_CIPHERTEXT_LENGTH = 1088;
const PUBLIC_KEY_LENGTH = ML_KEM_PUBLIC_KEY_LENGTH + 32;
const CIPHERTEXT_LENGTH = ML_KEM_CIPHERTEXT_LENGTH + 32;
const ML_KEM_Q = 3329;
/** The encoded t-hat vector at the start of the ML-KEM-768 key: 3 × 256 coefficients of 12 bits. */
const ML_KEM_T_LENGTH = 1152;
/** XWingLabel: the six ASCII bytes \.//^\ */
const XWING_LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c);

/**
 * FIPS 203 §7.2 modulus check on the ML-KEM part of an X-Wing public key: every 12-bit
 * coefficient must be below q. @noble/post-quantum 0.5.2 performs this check as
 * encode(decode(ek)) with a 12-bit coder that does not reduce, so it never fails; we check here.
 */
function mlKemKeyIsReduced(publicKey: Uint8Array): boolean {
  // Two coefficients per three bytes, little-endian (ByteEncode12). The key is public: an
  // early exit leaks nothing.
  for (let i = 0; i < ML_KEM_T_LENGTH; i += 3) {
    const b0 = publicKey[i]!;
    const b1 = publicKey[i + 1]!;
    const b2 = publicKey[i + 2]!;
    if ((b0 | ((b1 & 0x0f) << 8)) >= ML_KEM_Q || ((b1 >> 4) | (b2 << 4)) >= ML_KEM_Q) return false;
  }
  return true;
}

interface ExpandedKey {
  readonly mlKemSecret: Uint8Array;
  readonly mlKemPublic: Uint8Array;
  readonly x25519Secret: Uint8Array;
}

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    throw new CryptoError('invalid-key', 'x-wing: secret key must be a 32-byte seed');
  }
}

/** Zeroes the secret parts of an expanded key and drops the platform's parsed X25519 key. */
function wipe(key: ExpandedKey): void {
  forgetSecretKeys([key.x25519Secret]);
  key.x25519Secret.fill(0);
  key.mlKemSecret.fill(0);
}

/**
 * expandDecapsulationKey of the draft, but for the X25519 public key, which the caller
 * computes (after any key agreement, so that the platform parses the secret once). The
 * caller wipes the result when done with it.
 */
function expand(seed: Uint8Array): ExpandedKey {
  checkSeed(seed);
  const expanded = shake256(seed, { dkLen: 96 });
  // noble may clean its inputs: it gets its own copy of the ML-KEM seed.
  const mlKemSeed = expanded.slice(0, 64);
  const x25519Secret = expanded.slice(64, 96);
  expanded.fill(0);
  const { publicKey, secretKey } = ml_kem768.keygen(mlKemSeed);
  mlKemSeed.fill(0);
  return { mlKemSecret: secretKey, mlKemPublic: publicKey, x25519Secret };
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return sha3_256(concatBytes(ssM, ssX, ctX, pkX, XWING_LABEL));
}

async function x25519(platform: PlatformPrimitives, secretKey: Uint8Array, publicKey: Uint8Array) {
  try {
    return await platform.x25519.sharedSecret(secretKey, publicKey);
  } catch (cause) {
    // OpenSSL and WebCrypto refuse a small-order point; no honest peer sends one.
    throw new CryptoError('kem-failed', 'x-wing: X25519 part refused', { cause });
  }
}

/**
 * EncapsulateDerand of the draft: `eseed` is 64 bytes (ML-KEM message ‖ X25519 ephemeral key).
 * Exported for the known-answer tests; `encap` draws a random eseed.
 */
export async function xwingEncapsulateDerand(
  platform: PlatformPrimitives,
  publicKey: Uint8Array,
  eseed: Uint8Array,
): Promise<{ enc: Uint8Array; sharedSecret: Uint8Array }> {
  expectBytes('eseed', eseed, 64);
  const pkM = publicKey.slice(0, ML_KEM_PUBLIC_KEY_LENGTH);
  const pkX = publicKey.slice(ML_KEM_PUBLIC_KEY_LENGTH);
  const ekX = eseed.slice(32, 64);
  const message = eseed.slice(0, 32);
  try {
    const ssX = await x25519(platform, ekX, pkX);
    const ctX = await platform.x25519.publicKeyOf(ekX);
    let encapsulated: { cipherText: Uint8Array; sharedSecret: Uint8Array };
    try {
      encapsulated = ml_kem768.encapsulate(pkM, message);
    } catch (cause) {
      throw new CryptoError('invalid-key', 'x-wing: public key rejected', { cause });
    }
    return {
      enc: concatBytes(encapsulated.cipherText, ctX),
      sharedSecret: combine(encapsulated.sharedSecret, ssX, ctX, pkX),
    };
  } finally {
    forgetSecretKeys([ekX]);
    ekX.fill(0);
    message.fill(0);
  }
}

export function makeXWingKem(platform: PlatformPrimitives): Kem {
  async function keyPairFromSeed(seed: Uint8Array) {
    const key = expand(seed);
    try {
      const x25519Public = await platform.x25519.publicKeyOf(key.x25519Secret);
      return { secretKey: seed, publicKey: concatBytes(key.mlKemPublic, x25519Public) };
    } finally {
      wipe(key);
    }
  }

  const kem: Kem = {
    id: KEM_ID,
    secretKeyLength: SEED_LENGTH,
    publicKeyLength: PUBLIC_KEY_LENGTH,
    encLength: CIPHERTEXT_LENGTH,
    async generateKeyPair() {
      return keyPairFromSeed(platform.randomBytes(SEED_LENGTH));
    },
    async deriveKeyPair(ikm) {
      expectBytes('ikm', ikm);
      return keyPairFromSeed(shake256(ikm, { dkLen: SEED_LENGTH }));
    },
    async publicKeyOf(secretKey) {
      return (await keyPairFromSeed(secretKey)).publicKey;
    },
    checkPublicKey(publicKey) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
        throw new CryptoError('invalid-key', `x-wing: public key must be ${PUBLIC_KEY_LENGTH} bytes`);
      }
      if (!mlKemKeyIsReduced(publicKey)) {
        throw new CryptoError('invalid-key', 'x-wing: ML-KEM public key has an unreduced coefficient');
      }
    },
    async encap(publicKey) {
      kem.checkPublicKey(publicKey);
      const eseed = platform.randomBytes(64);
      try {
        return await xwingEncapsulateDerand(platform, publicKey, eseed);
      } finally {
        eseed.fill(0);
      }
    },
    async decap(enc, secretKey) {
      if (!(enc instanceof Uint8Array) || enc.length !== CIPHERTEXT_LENGTH) {
        throw new CryptoError('kem-failed', `x-wing: ciphertext must be ${CIPHERTEXT_LENGTH} bytes`);
      }
      const key = expand(secretKey);
      try {
        const ctX = enc.slice(ML_KEM_CIPHERTEXT_LENGTH);
        // ML-KEM decapsulation never fails: a bad ciphertext yields an implicit-rejection key.
        const ssM = ml_kem768.decapsulate(enc.slice(0, ML_KEM_CIPHERTEXT_LENGTH), key.mlKemSecret);
        const ssX = await x25519(platform, key.x25519Secret, ctX);
        return combine(ssM, ssX, ctX, await platform.x25519.publicKeyOf(key.x25519Secret));
      } finally {
        wipe(key);
      }
    },
  };
  return kem;
}
