// X-Wing (draft-connolly-cfrg-xwing-kem) as an HPKE KEM, from @noble/post-quantum. The
// serialized secret key is the 32-byte seed; DeriveKeyPair is SHAKE256(ikm, 32) as the seed,
// as the draft's HPKE section and ts-mls's default provider define it.
import { shake256 } from '@noble/hashes/sha3.js';
import { XWing } from '@noble/post-quantum/hybrid.js';
import { expectBytes } from './bytes.js';
import { CryptoError } from './errors.js';
import type { Kem } from './hpke.js';
import type { PlatformPrimitives } from './platform.js';

const KEM_ID = 0x647a;
const SEED_LENGTH = 32;
const PUBLIC_KEY_LENGTH = 1216;
const CIPHERTEXT_LENGTH = 1120;
const ML_KEM_Q = 3329;
/** The encoded t-hat vector at the start of the ML-KEM-768 key: 3 × 256 coefficients of 12 bits. */
const ML_KEM_T_LENGTH = 1152;

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

export function makeXWingKem(platform: PlatformPrimitives): Kem {
  function keyPairFromSeed(seed: Uint8Array) {
    const { publicKey } = XWing.keygen(seed);
    return { secretKey: seed, publicKey };
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
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== SEED_LENGTH) {
        throw new CryptoError('invalid-key', 'x-wing: secret key must be a 32-byte seed');
      }
      return XWing.keygen(secretKey).publicKey;
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
      try {
        // A copy: @noble/post-quantum 0.5.2 zeroes the public key it is given after use.
        const { cipherText, sharedSecret } = XWing.encapsulate(publicKey.slice());
        return { enc: cipherText, sharedSecret };
      } catch (cause) {
        // checkPublicKey has already done the FIPS 203 modulus check; this catches anything else.
        throw new CryptoError('invalid-key', 'x-wing: public key rejected', { cause });
      }
    },
    async decap(enc, secretKey) {
      if (!(enc instanceof Uint8Array) || enc.length !== CIPHERTEXT_LENGTH) {
        throw new CryptoError('kem-failed', `x-wing: ciphertext must be ${CIPHERTEXT_LENGTH} bytes`);
      }
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== SEED_LENGTH) {
        throw new CryptoError('invalid-key', 'x-wing: secret key must be a 32-byte seed');
      }
      return XWing.decapsulate(enc, secretKey);
    },
  };
  return kem;
}
