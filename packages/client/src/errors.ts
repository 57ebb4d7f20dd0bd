/** Client-side failures a caller can act on; server errors arrive as ApiError with their code. */
export type ClientErrorCode =
  | 'not-registered'
  | 'offline'
  | 'unknown-user'
  | 'unknown-conversation'
  | 'blocked'
  | 'identity-changed'
  | 'missing-key-packages'
  | 'retry-exhausted'
  | 'attachment-corrupted'
  | 'audit-failed'
  /** A change to the conversation is waiting for key transparency: nothing is encrypted in it meanwhile. */
  | 'verification-pending'
  | 'closed';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static is(err: unknown, code?: ClientErrorCode): err is ClientError {
    return err instanceof ClientError && (code === undefined || err.code === code);
  }
}
