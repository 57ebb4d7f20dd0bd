// The ts-mls CryptoProvider built from one platform's primitives. Everything MLS sends per
// message (signatures, HKDF ratchet steps, AES-GCM) runs on native code where the platform
// has it; HPKE is composed here from the same primitives.
import type {
  CiphersuiteImpl,
  CryptoProvider,
  Hash,
  Hpke,
  Kdf,
  PrivateKey,
  PublicKey,
  Rng,
  Signature,
} from 'ts-mls';
import { ciphersuiteParams, type CiphersuiteParams } from './ciphersuite.js';
import { constantTimeEqual, copyBytes, expectBytes } from './bytes.js';
import { makeDhkemX25519 } from './dhkem-x25519.js';
import { CryptoError } from './errors.js';
import { makeHkdf } from './hkdf.js';
import { makeHpkeSuite, type Kem } from './hpke.js';
import type { PlatformPrimitives } from './platform.js';
import { makeXWingKem } from './xwing.js';

/**
 * ts-mls types HPKE keys as WebCrypto CryptoKeys but only hands them back to the same
 * provider, so ours are opaque holders of the serialized key. The brand keeps a key of one
 * suite from being used with another.
 */
interface HeldKey {
  readonly type: 'public' | 'private';
  readonly kemId: number;
  readonly bytes: Uint8Array;
}

function holdKey(type: 'public', kemId: number, bytes: Uint8Array): PublicKey;
function holdKey(type: 'private', kemId: number, bytes: Uint8Array): PrivateKey;
function holdKey(type: 'public' | 'private', kemId: number, bytes: Uint8Array): PublicKey | PrivateKey {
  const held: HeldKey = Object.freeze({ type, kemId, bytes });
  return held as unknown as PublicKey | PrivateKey;
}

function heldBytes(key: PublicKey | PrivateKey, type: 'public' | 'private', kemId: number): Uint8Array {
  const held = key as unknown as Partial<HeldKey>;
  if (held.type !== type || held.kemId !== kemId || !(held.bytes instanceof Uint8Array)) {
    throw new CryptoError('invalid-key', `hpke: not a ${type} key of this ciphersuite`);
  }
  return held.bytes;
}

function makeHash(platform: PlatformPrimitives, params: CiphersuiteParams): Hash {
  return {
    digest: (data) => platform.digest(params.hash, data),
    mac: (key, data) => platform.hmac(params.hash, key, data),
    async verifyMac(key, mac, data) {
      const expected = await platform.hmac(params.hash, key, data);
      return constantTimeEqual(expected, mac);
    },
  };
}

function makeSignature(platform: PlatformPrimitives): Signature {
  return {
    sign(signKey, message) {
      return platform.ed25519.sign(signKey, message);
    },
    verify(publicKey, message, signature) {
      return platform.ed25519.verify(publicKey, message, signature);
    },
    async keygen() {
      const { secretKey, publicKey } = await platform.ed25519.generate();
      return { signKey: secretKey, publicKey };
    },
  };
}

function makeHpke(platform: PlatformPrimitives, params: CiphersuiteParams, kem: Kem): Hpke {
  const kdf = makeHkdf(platform, params.hash);
  const suite = makeHpkeSuite(platform, kem, kdf, params.kdfId, params.aeadId, params.aeadKeyLength);
  const empty = new Uint8Array(0);
  const pub = (k: PublicKey) => heldBytes(k, 'public', kem.id);
  const priv = (k: PrivateKey) => heldBytes(k, 'private', kem.id);
  const pair = async (p: Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }>) => {
    const { secretKey, publicKey } = await p;
    return {
      privateKey: holdKey('private', kem.id, secretKey),
      publicKey: holdKey('public', kem.id, publicKey),
    };
  };

  return {
    keyLength: params.aeadKeyLength,
    nonceLength: 12,
    async seal(publicKey, plaintext, info, aad) {
      return suite.seal(pub(publicKey), info, aad ?? empty, plaintext);
    },
    async open(privateKey, kemOutput, ciphertext, info, aad) {
      return suite.open(priv(privateKey), kemOutput, info, aad ?? empty, ciphertext);
    },
    async exportSecret(publicKey, exporterContext, length, info) {
      return suite.sendExport(pub(publicKey), info, exporterContext, length);
    },
    async importSecret(privateKey, exporterContext, kemOutput, length, info) {
      return suite.receiveExport(priv(privateKey), kemOutput, info, exporterContext, length);
    },
    async importPrivateKey(k) {
      // Every string of the right length is a key of both KEMs (a clamped X25519 scalar, an
      // X-Wing seed), so the length is the whole check.
      expectBytes('private key', k);
      if (k.length !== kem.secretKeyLength) {
        throw new CryptoError('invalid-key', `hpke: private key must be ${kem.secretKeyLength} bytes`);
      }
      // Held by reference, not copied: ts-mls imports the arrays of its state, and the
      // platform caches a parsed key per array, so the key ts-mls drops is the one its owner
      // evicts (forgetSecretKeys), not an unreachable copy left for the garbage collector.
      return holdKey('private', kem.id, k);
    },
    async importPublicKey(k) {
      expectBytes('public key', k);
      kem.checkPublicKey(k);
      return holdKey('public', kem.id, copyBytes(k));
    },
    exportPublicKey: async (k) => copyBytes(pub(k)),
    exportPrivateKey: async (k) => copyBytes(priv(k)),
    async encryptAead(key, nonce, aad, plaintext) {
      return platform.aesGcmSeal(key, nonce, aad ?? empty, plaintext);
    },
    async decryptAead(key, nonce, aad, ciphertext) {
      return platform.aesGcmOpen(key, nonce, aad ?? empty, ciphertext);
    },
    deriveKeyPair: (ikm) => pair(kem.deriveKeyPair(ikm)),
    generateKeyPair: () => pair(kem.generateKeyPair()),
  };
}

function makeKdf(platform: PlatformPrimitives, params: CiphersuiteParams): Kdf {
  const hkdf = makeHkdf(platform, params.hash);
  return { extract: hkdf.extract, expand: hkdf.expand, size: hkdf.size };
}

/** Builds a provider; each ciphersuite's implementation is made once and reused. */
export function makeCryptoProvider(platform: PlatformPrimitives): CryptoProvider {
  const rng: Rng = { randomBytes: (n) => platform.randomBytes(n) };
  const cache = new Map<number, Promise<CiphersuiteImpl>>();
  return {
    getCiphersuiteImpl(id: number): Promise<CiphersuiteImpl> {
      const cached = cache.get(id);
      if (cached) return cached;
      const params = ciphersuiteParams(id);
      if (!params) {
        return Promise.reject(
          new CryptoError('unsupported-ciphersuite', `ciphersuite ${id} is not supported`),
        );
      }
      const kem = params.kem === 'X-Wing' ? makeXWingKem(platform) : makeDhkemX25519(platform);
      const impl: CiphersuiteImpl = {
        id,
        hash: makeHash(platform, params),
        kdf: makeKdf(platform, params),
        signature: makeSignature(platform),
        hpke: makeHpke(platform, params, kem),
        rng,
      };
      const made = Promise.resolve(impl);
      cache.set(id, made);
      return made;
    },
  };
}
