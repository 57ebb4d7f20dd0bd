/** Errors a caller can act on. `code` is stable; `message` never holds user data or key material. */
export type ProtocolErrorCode =
  /** The server moved on: fetch, process and retry. */
  | 'stale-epoch'
  /** A sequenced commit this member cannot process (invalid, or from a non-member). */
  | 'invalid-commit'
  /** A credential that does not match the account's verified device list. */
  | 'unknown-credential'
  /**
   * The directory could not answer now (offline, the server unavailable or rate limiting, a
   * proof it could not fetch): nothing about the credential was decided. Retry later; never
   * an alarm, and the message that needed it is kept.
   */
  | 'directory-unavailable'
  /** Any ciphertext that fails authentication, uniformly, whatever part was altered. */
  | 'tampered'
  /** A message whose key was already used (a replay) or is older than the out-of-order window. */
  | 'replay'
  /** A message further ahead in its sender's chain than the forward limit allows. */
  | 'too-far-ahead'
  /** A different commit for an epoch already processed, or a member showing another epoch. */
  | 'fork'
  /** A message or commit from an epoch this member has not reached: something was withheld. */
  | 'gap'
  /** Handshake messages must be PrivateMessages; PublicMessage handshakes are refused. */
  | 'public-message-refused'
  /** A key package that does not match the device list it is claimed for. */
  | 'invalid-key-package'
  /** The operation is not allowed to this member (e.g. adding another account's device). */
  | 'not-allowed'
  /** The member is no longer in the conversation. */
  | 'not-a-member'
  /** Input that cannot be decoded, or saved state in an unknown format. */
  | 'malformed'
  | 'too-large'
  /** A message already processed (same message id). */
  | 'duplicate'
  /**
   * A Welcome for a conversation this device is in, or one no newer than the conversation it
   * left: it would replace the conversation (someone slipping in under its id) or roll it
   * back (a replayed Welcome). `groupId` names the conversation.
   */
  | 'conflicting-welcome'
  /**
   * The MLS library loaded does not follow RFC 9420 where Ghostproof depends on it (an install
   * that skipped patches/): nothing runs on it.
   */
  | 'nonconforming-mls';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** The conversation concerned, where the caller cannot know it otherwise (a Welcome). */
  readonly groupId: Uint8Array | undefined;
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown; groupId?: Uint8Array },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.groupId = options?.groupId;
  }

  static is(err: unknown, code?: ProtocolErrorCode): err is ProtocolError {
    return err instanceof ProtocolError && (code === undefined || err.code === code);
  }
}
