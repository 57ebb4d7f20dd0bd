// Ghostproof's own ciphersuite identifiers and their parameters. The numbers are the MLS
// ciphersuite ids ts-mls uses (X-Wing's is private-use 0xF00D in ts-mls 2.0), kept here so
// that the rest of the project never spells a library id.

export const Ciphersuite = {
  /** The default: X-Wing (X25519 + ML-KEM-768) hybrid KEM, AES-256-GCM, SHA-512, Ed25519. */
  XWING_AES256GCM_SHA512_ED25519: 0xf00d,
  /** Classical, smaller and cheaper; allowed for very large groups (see docs/benchmarks.md). */
  X25519_AES128GCM_SHA256_ED25519: 0x0001,
} as const;

export type CiphersuiteId = (typeof Ciphersuite)[keyof typeof Ciphersuite];

export const defaultCiphersuite: CiphersuiteId = Ciphersuite.XWING_AES256GCM_SHA512_ED25519;

export type HashName = 'SHA-256' | 'SHA-512';
export type KemName = 'DHKEM-X25519-HKDF-SHA256' | 'X-Wing';

export interface CiphersuiteParams {
  readonly id: CiphersuiteId;
  /** The name ts-mls's `getCiphersuiteImpl` takes for this suite. */
  readonly mlsName: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519' | 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';
  readonly hash: HashName;
  /** Output length of the hash, Nh. */
  readonly hashLength: 32 | 64;
  readonly kem: KemName;
  /** RFC 9180 identifiers, used in the HPKE suite_id. */
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
  /** AES-GCM key length, Nk. */
  readonly aeadKeyLength: 16 | 32;
}

const params: Record<CiphersuiteId, CiphersuiteParams> = {
  [Ciphersuite.XWING_AES256GCM_SHA512_ED25519]: {
    id: Ciphersuite.XWING_AES256GCM_SHA512_ED25519,
    mlsName: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
    hash: 'SHA-512',
    hashLength: 64,
    kem: 'X-Wing',
    kemId: 0x647a,
    kdfId: 0x0003,
    aeadId: 0x0002,
    aeadKeyLength: 32,
  },
  [Ciphersuite.X25519_AES128GCM_SHA256_ED25519]: {
    id: Ciphersuite.X25519_AES128GCM_SHA256_ED25519,
    mlsName: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
    hash: 'SHA-256',
    hashLength: 32,
    kem: 'DHKEM-X25519-HKDF-SHA256',
    kemId: 0x0020,
    kdfId: 0x0001,
    aeadId: 0x0001,
    aeadKeyLength: 16,
  },
};

export const supportedCiphersuites: readonly CiphersuiteId[] = [
  Ciphersuite.XWING_AES256GCM_SHA512_ED25519,
  Ciphersuite.X25519_AES128GCM_SHA256_ED25519,
];

export function isSupportedCiphersuite(id: number): id is CiphersuiteId {
  return Object.prototype.hasOwnProperty.call(params, id);
}

/** Parameters of a supported suite, or undefined for any other id. */
export function ciphersuiteParams(id: number): CiphersuiteParams | undefined {
  return isSupportedCiphersuite(id) ? params[id] : undefined;
}
