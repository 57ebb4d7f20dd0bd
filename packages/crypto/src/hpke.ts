// HPKE base mode (RFC 9180 §5.1) composed from a KEM, HKDF and AES-GCM. Only the single-shot
// seal/open and the secret export that MLS uses (RFC 9420 §5.1.3, §12.4.3.2) are offered;
// the sequence number is therefore always zero and the nonce is the base nonce.
import { concatBytes, i2osp, utf8 } from './bytes.js';
import type { Hkdf } from './hkdf.js';
import type { PlatformPrimitives } from './platform.js';

export interface KemKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A KEM as RFC 9180 §4 sees it, over serialized keys. */
export interface Kem {
  readonly id: number;
  readonly secretKeyLength: number;
  readonly publicKeyLength: number;
  readonly encLength: number;
  generateKeyPair(): Promise<KemKeyPair>;
  deriveKeyPair(ikm: Uint8Array): Promise<KemKeyPair>;
  /** Checks a serialized secret key and returns its public key. */
  publicKeyOf(secretKey: Uint8Array): Promise<Uint8Array>;
  /** Throws CryptoError('invalid-key') for a public key that is not one. */
  checkPublicKey(publicKey: Uint8Array): void;
  encap(publicKey: Uint8Array): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }>;
  decap(enc: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>;
}

const hpkeV1 = utf8('HPKE-v1');
const modeBase = 0x00;

export interface LabeledKdf {
  readonly labeledExtract: (salt: Uint8Array, label: string, ikm: Uint8Array) => Promise<Uint8Array>;
  readonly labeledExpand: (
    prk: Uint8Array,
    label: string,
    info: Uint8Array,
    length: number,
  ) => Promise<Uint8Array>;
}

/** LabeledExtract and LabeledExpand of RFC 9180 §4 for one suite_id. */
export function labeledKdf(kdf: Hkdf, suiteId: Uint8Array): LabeledKdf {
  return {
    labeledExtract(salt, label, ikm) {
      return kdf.extract(salt, concatBytes(hpkeV1, suiteId, utf8(label), ikm));
    },
    labeledExpand(prk, label, info, length) {
      return kdf.expand(prk, concatBytes(i2osp(length, 2), hpkeV1, suiteId, utf8(label), info), length);
    },
  };
}

interface Context {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

export interface HpkeSuite {
  readonly kem: Kem;
  readonly aeadKeyLength: number;
  readonly nonceLength: 12;
  seal(
    publicKey: Uint8Array,
    info: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
  ): Promise<{ enc: Uint8Array; ct: Uint8Array }>;
  open(
    secretKey: Uint8Array,
    enc: Uint8Array,
    info: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
  ): Promise<Uint8Array>;
  sendExport(
    publicKey: Uint8Array,
    info: Uint8Array,
    exporterContext: Uint8Array,
    length: number,
  ): Promise<{ enc: Uint8Array; secret: Uint8Array }>;
  receiveExport(
    secretKey: Uint8Array,
    enc: Uint8Array,
    info: Uint8Array,
    exporterContext: Uint8Array,
    length: number,
  ): Promise<Uint8Array>;
}

export function makeHpkeSuite(
  platform: PlatformPrimitives,
  kem: Kem,
  kdf: Hkdf,
  kdfId: number,
  aeadId: number,
  aeadKeyLength: number,
): HpkeSuite {
  const suiteId = concatBytes(utf8('HPKE'), i2osp(kem.id, 2), i2osp(kdfId, 2), i2osp(aeadId, 2));
  const { labeledExtract, labeledExpand } = labeledKdf(kdf, suiteId);
  const empty = new Uint8Array(0);

  async function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): Promise<Context> {
    const pskIdHash = await labeledExtract(empty, 'psk_id_hash', empty);
    const infoHash = await labeledExtract(empty, 'info_hash', info);
    const context = concatBytes(Uint8Array.of(modeBase), pskIdHash, infoHash);
    const secret = await labeledExtract(sharedSecret, 'secret', empty);
    return {
      key: await labeledExpand(secret, 'key', context, aeadKeyLength),
      baseNonce: await labeledExpand(secret, 'base_nonce', context, 12),
      exporterSecret: await labeledExpand(secret, 'exp', context, kdf.size),
    };
  }

  return {
    kem,
    aeadKeyLength,
    nonceLength: 12,
    async seal(publicKey, info, aad, plaintext) {
      const { sharedSecret, enc } = await kem.encap(publicKey);
      const ctx = await keySchedule(sharedSecret, info);
      return { enc, ct: await platform.aesGcmSeal(ctx.key, ctx.baseNonce, aad, plaintext) };
    },
    async open(secretKey, enc, info, aad, ciphertext) {
      const sharedSecret = await kem.decap(enc, secretKey);
      const ctx = await keySchedule(sharedSecret, info);
      return platform.aesGcmOpen(ctx.key, ctx.baseNonce, aad, ciphertext);
    },
    async sendExport(publicKey, info, exporterContext, length) {
      const { sharedSecret, enc } = await kem.encap(publicKey);
      const ctx = await keySchedule(sharedSecret, info);
      return { enc, secret: await labeledExpand(ctx.exporterSecret, 'sec', exporterContext, length) };
    },
    async receiveExport(secretKey, enc, info, exporterContext, length) {
      const sharedSecret = await kem.decap(enc, secretKey);
      const ctx = await keySchedule(sharedSecret, info);
      return labeledExpand(ctx.exporterSecret, 'sec', exporterContext, length);
    },
  };
}
