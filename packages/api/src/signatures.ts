// The structures a device or an account identity signs outside MLS. Each one is built by
// the signer itself and starts with its own label and a zero byte, so no signature made for
// Ghostproof can ever be valid over another structure: not over another of ours, and not
// over MLS's SignWithLabel content, which starts with a length byte and "MLS 1.0 ". The
// signer never signs bytes chosen by the server: the server's nonce is one fixed-length
// field among others, never the whole message.
import { ByteWriter } from './binary.js';
import { ApiError } from './errors.js';
import { canonicalUsername } from './username.js';

export const SIGN_IN_LABEL = 'ghostproof-auth-v1';
export const ACCOUNT_DELETION_LABEL = 'ghostproof-delete-account-v1';
export const NONCE_LENGTH = 32;
export const MAX_ORIGIN_LENGTH = 256;

const encoder = new TextEncoder();

function start(label: string): ByteWriter {
  return new ByteWriter().bytes(encoder.encode(label)).u8(0);
}

function field(writer: ByteWriter, value: Uint8Array): ByteWriter {
  return writer.u16(value.length).bytes(value);
}

/** A server origin as clients and servers write it: scheme, host and port, no path. */
export function checkOrigin(origin: string): string {
  if (typeof origin !== 'string' || origin.length === 0 || origin.length > MAX_ORIGIN_LENGTH) {
    throw new ApiError('malformed', 'origin: 1 to 256 characters');
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch (cause) {
    throw new ApiError('malformed', 'origin: not a URL', { cause });
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin) {
    throw new ApiError('malformed', 'origin: expected scheme://host[:port] with nothing after');
  }
  return origin;
}

function nonce(what: string, value: Uint8Array): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== NONCE_LENGTH) {
    throw new ApiError('malformed', `${what}: expected ${NONCE_LENGTH} bytes`);
  }
  return value;
}

function deviceIdOf(deviceId: number): number {
  if (!Number.isInteger(deviceId) || deviceId < 1 || deviceId > 0x7fffffff) {
    throw new ApiError('malformed', 'device id: expected a positive 31-bit integer');
  }
  return deviceId;
}

export interface SignInFields {
  /** The origin the device believes it is talking to; the server checks it is its own. */
  readonly origin: string;
  /** 32 bytes from the server's Challenge. */
  readonly serverNonce: Uint8Array;
  /** 32 bytes the device drew itself. */
  readonly clientNonce: Uint8Array;
  readonly username: string;
  readonly deviceId: number;
}

/**
 * What a device signs with its signature key to sign in:
 * "ghostproof-auth-v1" ‖ 0x00 ‖ origin ‖ server nonce ‖ client nonce ‖ username ‖ device id,
 * each variable field prefixed with its u16 length, the device id a u32.
 */
export function signInSignatureInput(fields: SignInFields): Uint8Array {
  const writer = start(SIGN_IN_LABEL);
  field(writer, encoder.encode(checkOrigin(fields.origin)));
  field(writer, nonce('server nonce', fields.serverNonce));
  field(writer, nonce('client nonce', fields.clientNonce));
  field(writer, encoder.encode(canonicalUsername(fields.username)));
  return writer.u32(deviceIdOf(fields.deviceId)).finish();
}

export interface AccountDeletionFields {
  readonly origin: string;
  readonly username: string;
  /** The account's current device-list sequence: a signature for one version cannot be replayed later. */
  readonly sequence: bigint;
}

/**
 * What the account identity key signs to delete the account:
 * "ghostproof-delete-account-v1" ‖ 0x00 ‖ origin ‖ username ‖ sequence (u64).
 */
export function accountDeletionSignatureInput(fields: AccountDeletionFields): Uint8Array {
  const writer = start(ACCOUNT_DELETION_LABEL);
  field(writer, encoder.encode(checkOrigin(fields.origin)));
  field(writer, encoder.encode(canonicalUsername(fields.username)));
  if (typeof fields.sequence !== 'bigint' || fields.sequence < 1n) {
    throw new ApiError('malformed', 'sequence: expected a positive integer');
  }
  return writer.u64(fields.sequence).finish();
}
