// The MLS ciphersuites this project supports, which every scenario test runs for: the
// default (X-Wing, post-quantum hybrid) and the RFC 9420 mandatory one (X25519).

export interface TestCiphersuite {
  /** The RFC 9420 / ts-mls name. */
  readonly name: string;
  /** A short label for test titles. */
  readonly label: string;
  readonly id: number;
  /** Length in bytes of a KeyPackageRef (the suite's hash). */
  readonly refLength: number;
}

export const ciphersuites = [
  { name: 'MLS_256_XWING_AES256GCM_SHA512_Ed25519', label: 'X-Wing', id: 0xf00d, refLength: 64 },
  { name: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519', label: 'X25519', id: 0x0001, refLength: 32 },
] as const satisfies readonly TestCiphersuite[];
