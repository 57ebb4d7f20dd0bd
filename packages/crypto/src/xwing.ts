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
    generateKeyPair() {
      return Promise.resolve(keyPairFromSeed(platform.randomBytes(SEED_LENGTH)));
    },
    deriveKeyPair(ikm) {
      expectBytes('ikm', ikm);
      return Promise.resolve(keyPairFromSeed(shake256(ikm, { dkLen: SEED_LENGTH })));
    },
    publicKeyOf(secretKey) {
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== SEED_LENGTH) {
        throw new CryptoError('invalid-key', 'x-wing: secret key must be a 32-byte seed');
      }
      return Promise.resolve(XWing.keygen(secretKey).publicKey);
    },
    checkPublicKey(publicKey) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
        throw new CryptoError('invalid-key', `x-wing: public key must be ${PUBLIC_KEY_LENGTH} bytes`);
      }
    },
    encap(publicKey) {
      kem.checkPublicKey(publicKey);
      try {
        const { cipherText, sharedSecret } = XWing.encapsulate(publicKey);
        return Promise.resolve({ enc: cipherText, sharedSecret });
      } catch (cause) {
        // noble rejects an ML-KEM encapsulation key whose coefficients are not reduced.
        throw new CryptoError('invalid-key', 'x-wing: public key rejected', { cause });
      }
    },
    decap(enc, secretKey) {
      if (!(enc instanceof Uint8Array) || enc.length !== CIPHERTEXT_LENGTH) {
        throw new CryptoError('kem-failed', `x-wing: ciphertext must be ${CIPHERTEXT_LENGTH} bytes`);
      }
      if (!(secretKey instanceof Uint8Array) || secretKey.length !== SEED_LENGTH) {
        throw new CryptoError('invalid-key', 'x-wing: secret key must be a 32-byte seed');
      }
      return Promise.resolve(XWing.decapsulate(enc, secretKey));
    },
  };
  return kem;
}
