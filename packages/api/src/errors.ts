/**
 * The one table of error codes of the client–server contract. `code` is stable and is what
 * clients act on; `message` is for people and never holds user data. Each code has the
 * HTTP status it travels with (WebSocket responses carry the code alone) and whether
 * retrying the same request later can succeed.
 */
export const apiErrorTable = {
  /** The input does not parse, or breaks a rule of its format. Do not retry as is. */
  malformed: { status: 400, retryable: false },
  /** Over a size limit (body, frame, message, attachment, batch). */
  'too-large': { status: 413, retryable: false },
  'invalid-username': { status: 400, retryable: false },
  'reserved-username': { status: 400, retryable: false },
  /** A signature the request depends on (device list, deletion) does not verify. */
  'bad-signature': { status: 400, retryable: false },
  /**
   * Sign-in failed or the session is missing, expired or revoked. Deliberately the same
   * for "no such account", "no such device", "wrong signature" and "expired challenge".
   */
  unauthenticated: { status: 401, retryable: false },
  /** Signed in, but not allowed: another device's mailbox, a routing list one is not on. */
  forbidden: { status: 403, retryable: false },
  'not-found': { status: 404, retryable: false },
  /** The username, or a name with the same skeleton, is or was registered. */
  'username-taken': { status: 409, retryable: false },
  /** The server requires an invite code and none, or a spent or unknown one, was given. */
  'invite-required': { status: 403, retryable: false },
  /** A commit for an epoch that is not the group's current one: fetch, process, retry. */
  'stale-epoch': { status: 409, retryable: false },
  /** A device-list update whose sequence is not the current one plus one. */
  'stale-sequence': { status: 409, retryable: false },
  /** The id is taken (a group id), or a client id was reused with different content. */
  conflict: { status: 409, retryable: false },
  /** A Welcome names a KeyPackageRef that was never claimed from this server. */
  'unknown-key-package': { status: 409, retryable: false },
  /** A valid input the server does not support (MLS version, wire format, cipher suite). */
  unsupported: { status: 422, retryable: false },
  /** Too many requests of this kind; `retry_after_ms` says when. */
  'rate-limited': { status: 429, retryable: true },
  /** The server is shutting down or overloaded. */
  unavailable: { status: 503, retryable: true },
  /** A bug in the server; reported in its logs without user data. */
  internal: { status: 500, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

export type ApiErrorCode = keyof typeof apiErrorTable;

export const apiErrorCodes = Object.keys(apiErrorTable) as readonly ApiErrorCode[];

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(apiErrorTable, value);
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** For `rate-limited` and `unavailable`: milliseconds until a retry may succeed. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** The HTTP status this error travels with. */
  get status(): number {
    return apiErrorTable[this.code].status;
  }

  static is(err: unknown, code?: ApiErrorCode): err is ApiError {
    return err instanceof ApiError && (code === undefined || err.code === code);
  }
}
