/**
 * Client-side failures a caller can act on; server errors arrive as ApiError with their code,
 * and refusals of the MLS layer as ProtocolError. `code` is stable; `message` never holds
 * user data.
 */
export type ClientErrorCode =
  /** This profile holds no account (register first), or key transparency was never pinned. */
  | 'not-registered'
  /** `Messenger.register` on a profile that already holds an account. */
  | 'already-registered'
  /** The server cannot be reached, or the connection was lost: retry later. */
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
  | 'closed'
  /** Wrong call order or bad arguments (e.g. a request before `connect()`): fix the caller. */
  | 'usage'
  /** Should never occur: a bug in the client. */
  | 'internal';

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
