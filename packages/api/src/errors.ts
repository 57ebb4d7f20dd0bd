/**
 * The one table of error codes of the client–server contract. `code` is stable and is what
 * clients act on; `message` is for people and never holds user data.
 */
export const apiErrorCodes = [
  'malformed',
  'too-large',
  'invalid-username',
  'reserved-username',
  'bad-signature',
] as const;

export type ApiErrorCode = (typeof apiErrorCodes)[number];

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static is(err: unknown, code?: ApiErrorCode): err is ApiError {
    return err instanceof ApiError && (code === undefined || err.code === code);
  }
}
