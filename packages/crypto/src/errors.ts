/** Errors a caller can act on. `code` is stable; `message` never holds key material or user data. */
export type CryptoErrorCode =
  'unsupported-ciphersuite' | 'invalid-key' | 'invalid-input' | 'decrypt-failed' | 'kem-failed';

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static is(err: unknown, code?: CryptoErrorCode): err is CryptoError {
    return err instanceof CryptoError && (code === undefined || err.code === code);
  }
}
