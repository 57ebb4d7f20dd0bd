// HKDF (RFC 5869) as the two steps MLS and HPKE call separately, on the platform's HMAC.
// Both node:crypto and WebCrypto offer HKDF only as extract-then-expand in one call.
import type { HashName } from './ciphersuite.js';
import { concatBytes } from './bytes.js';
import { CryptoError } from './errors.js';
import type { PlatformPrimitives } from './platform.js';

export interface Hkdf {
  readonly hash: HashName;
  /** Nh, the hash output length. */
  readonly size: number;
  readonly extract: (salt: Uint8Array, ikm: Uint8Array) => Promise<Uint8Array>;
  readonly expand: (prk: Uint8Array, info: Uint8Array, length: number) => Promise<Uint8Array>;
}

export function makeHkdf(platform: PlatformPrimitives, hash: HashName): Hkdf {
  const size = hash === 'SHA-256' ? 32 : 64;
  const zeroSalt = new Uint8Array(size);
  return {
    hash,
    size,
    extract(salt, ikm) {
      return platform.hmac(hash, salt.length === 0 ? zeroSalt : salt, ikm);
    },
    async expand(prk, info, length) {
      if (!Number.isInteger(length) || length < 0 || length > 255 * size) {
        throw new CryptoError('invalid-input', `hkdf: output length ${length} out of range`);
      }
      if (prk.length < size) throw new CryptoError('invalid-input', 'hkdf: pseudorandom key too short');
      const blocks = Math.ceil(length / size);
      // Every MLS and HPKE derivation fits in one block; that path does one HMAC and one copy.
      if (blocks <= 1) {
        const t = await platform.hmac(hash, prk, concatBytes(info, Uint8Array.of(1)));
        return t.slice(0, length);
      }
      const out = new Uint8Array(blocks * size);
      let previous: Uint8Array = new Uint8Array(0);
      for (let i = 1; i <= blocks; i++) {
        previous = await platform.hmac(hash, prk, concatBytes(previous, info, Uint8Array.of(i)));
        out.set(previous, (i - 1) * size);
      }
      return out.slice(0, length);
    },
  };
}
