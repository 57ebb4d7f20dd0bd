// Errors as a person reads them: one line that says what went wrong and, where there is
// one, what to do. CliError carries a message written for the terminal; SDK and server errors
// are translated here, in one place, from their stable codes.
import { ApiError } from '@ghostproof/api';
import { ClientError } from '@ghostproof/client';
import { ProtocolError } from '@ghostproof/protocol';
import { UsageError } from '../config/usage-error.js';

/** A failure the command explains itself; exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

const apiMessages: Partial<Record<ApiError['code'], string>> = {
  'username-taken': 'that username (or one that looks like it) is taken',
  'reserved-username': 'that username is reserved',
  'invalid-username': 'usernames are 3 to 32 characters of a-z, 0-9, ".", "_" and "-"',
  'invite-required': 'this server needs an invite code: register with --invite CODE',
  unauthenticated: 'the server did not accept this device’s sign-in (was the account deleted?)',
  'too-large': 'too large for this server',
  unavailable: 'the server is unavailable (shutting down or overloaded); try again shortly',
  internal: 'the server reported an internal error; try again',
};

const clientMessages: Partial<Record<ClientError['code'], string>> = {
  offline: 'cannot reach the server',
  closed: 'the connection was closed',
  'attachment-corrupted': 'the attachment failed its digest check: not saved',
  'verification-pending':
    'a change to this conversation is waiting until its keys can be checked (the server is unreachable or busy): not sent; try again shortly',
  'identity-changed':
    'a verified contact’s identity key changed: compare the safety number again ("ghostproof verify <user>") before sending',
};

const protocolMessages: Partial<Record<ProtocolError['code'], string>> = {
  'nonconforming-mls':
    'this installation runs the MLS library without its security patch (installed with --ignore-scripts?): run "npm install" again, or "npx patch-package", before using Ghostproof',
  'directory-unavailable': 'key transparency cannot be reached right now; try again shortly',
};

/** The one line printed for `error`. */
export function describeError(error: unknown): string {
  if (error instanceof CliError || error instanceof UsageError) return error.message;
  if (ApiError.is(error)) {
    if (error.code === 'rate-limited') {
      const seconds = Math.ceil((error.retryAfterMs ?? 1000) / 1000);
      return `the server is rate-limiting this device; try again in ${seconds} s`;
    }
    return `${apiMessages[error.code] ?? `the server refused: ${error.message}`} (${error.code})`;
  }
  if (ClientError.is(error)) return clientMessages[error.code] ?? error.message;
  if (ProtocolError.is(error)) return protocolMessages[error.code] ?? error.message;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return error.message; // fs errors name the path
    return `unexpected error: ${error.message}`;
  }
  return `unexpected error: ${String(error)}`;
}
