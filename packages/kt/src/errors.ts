/**
 * Errors a caller can act on. `code` is stable; `message` never holds key material, account
 * names or values, so an error can be logged or returned to a client as it is.
 */
export type KtErrorCode =
  /** An argument given by the caller has the wrong type, length or range. */
  | 'invalid-input'
  /** Encoded bytes (a proof, a checkpoint, a state) do not parse, or exceed a size limit. */
  | 'malformed'
  /** A signature, VRF proof or Merkle path does not verify. */
  | 'verification-failed'
  /** Two views of the log cannot both be true: a rewritten history, a fork, a dropped entry. */
  | 'inconsistent'
  /** The log broke its own rules: a version that did not grow by one, a changed history. */
  | 'invalid-update'
  /** The requested account, version or epoch does not exist in the log. */
  | 'not-found'
  /** Should never occur: report a bug. */
  | 'internal';

export class KtError extends Error {
  override readonly name = 'KtError';
  constructor(
    readonly code: KtErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static is(err: unknown, code?: KtErrorCode): err is KtError {
    return err instanceof KtError && (code === undefined || err.code === code);
  }
}
