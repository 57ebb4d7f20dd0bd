// The account's device list: which devices (id and Ed25519 signature key, which is also the
// device's MLS credential key) belong to an account, signed by the account's identity key.
// Clients build and sign it; the server checks and stores it and logs it in key
// transparency; every client that adds a device to a conversation verifies it. The encoding
// is canonical (devices strictly ascending by id, no trailing bytes), so the signed bytes
// are the list.
import { ByteReader, ByteWriter } from './binary.js';
import { ApiError } from './errors.js';
import { canonicalUsername } from './username.js';

export const DEVICE_LIST_FORMAT = 1;
export const MAX_DEVICES = 16;
export const ED25519_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
/** Upper bound of an encoded list: header plus MAX_DEVICES entries. */
export const MAX_DEVICE_LIST_BYTES = 1 + 1 + 32 + 32 + 8 + 8 + 1 + MAX_DEVICES * (4 + 32 + 8);
const MAX_SIGNED_DEVICE_LIST_BYTES = 2 + MAX_DEVICE_LIST_BYTES + ED25519_SIGNATURE_LENGTH;

/** Domain separation: the identity key signs only this label followed by an encoded list. */
const SIGNATURE_LABEL = new TextEncoder().encode('ghostproof-device-list-v1\0');

export interface Device {
  /** Positive 32-bit id, unique within the account; the mailbox is (account, id). */
  readonly id: number;
  /** Ed25519 public key: the device's signing key and MLS credential key. */
  readonly signatureKey: Uint8Array;
  /** When the device was linked, milliseconds since 1970 (informational). */
  readonly addedAt: bigint;
}

export interface DeviceList {
  /** Canonical username of the account. */
  readonly username: string;
  /** Ed25519 public key of the account identity, which signs the list. */
  readonly identityKey: Uint8Array;
  /** Grows by one with every change of the list; it is the account's version in key transparency. */
  readonly sequence: bigint;
  readonly issuedAt: bigint;
  readonly devices: readonly Device[];
}

export interface SignedDeviceList {
  /** The encoded DeviceList, exactly the bytes that were signed. */
  readonly list: Uint8Array;
  readonly signature: Uint8Array;
}

function checkKey(what: string, key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== ED25519_KEY_LENGTH) {
    throw new ApiError('malformed', `${what}: expected ${ED25519_KEY_LENGTH} bytes`);
  }
}

function checkDevices(devices: readonly Device[]): void {
  if (devices.length < 1 || devices.length > MAX_DEVICES) {
    throw new ApiError('malformed', `device list: 1 to ${MAX_DEVICES} devices`);
  }
  let previous = 0;
  for (const device of devices) {
    if (!Number.isInteger(device.id) || device.id <= previous || device.id > 0x7fffffff) {
      throw new ApiError('malformed', 'device list: ids must be positive and strictly ascending');
    }
    previous = device.id;
    checkKey('device signature key', device.signatureKey);
  }
}

export function encodeDeviceList(list: DeviceList): Uint8Array {
  const username = canonicalUsername(list.username);
  if (username !== list.username)
    throw new ApiError('invalid-username', 'device list: username not canonical');
  checkKey('identity key', list.identityKey);
  checkDevices(list.devices);
  if (list.sequence < 1n) throw new ApiError('malformed', 'device list: sequence starts at 1');
  const writer = new ByteWriter()
    .u8(DEVICE_LIST_FORMAT)
    .u8(username.length)
    .bytes(new TextEncoder().encode(username))
    .bytes(list.identityKey)
    .u64(list.sequence)
    .u64(list.issuedAt)
    .u8(list.devices.length);
  for (const device of list.devices) writer.u32(device.id).bytes(device.signatureKey).u64(device.addedAt);
  return writer.finish();
}

export function decodeDeviceList(bytes: Uint8Array): DeviceList {
  if (!(bytes instanceof Uint8Array)) throw new ApiError('malformed', 'device list: expected bytes');
  if (bytes.length > MAX_DEVICE_LIST_BYTES) throw new ApiError('too-large', 'device list: too large');
  const reader = new ByteReader(bytes, 'device list');
  if (reader.u8() !== DEVICE_LIST_FORMAT) throw new ApiError('malformed', 'device list: unknown format');
  const usernameBytes = reader.bytes(reader.u8());
  let username: string;
  try {
    username = new TextDecoder('utf-8', { fatal: true }).decode(usernameBytes);
  } catch (cause) {
    throw new ApiError('malformed', 'device list: username is not UTF-8', { cause });
  }
  if (canonicalUsername(username) !== username) {
    throw new ApiError('invalid-username', 'device list: username not canonical');
  }
  const identityKey = reader.bytes(ED25519_KEY_LENGTH);
  const sequence = reader.u64();
  const issuedAt = reader.u64();
  const count = reader.u8();
  const devices: Device[] = [];
  for (let i = 0; i < count; i++) {
    devices.push({ id: reader.u32(), signatureKey: reader.bytes(ED25519_KEY_LENGTH), addedAt: reader.u64() });
  }
  reader.end();
  checkDevices(devices);
  if (sequence < 1n) throw new ApiError('malformed', 'device list: sequence starts at 1');
  return { username, identityKey, sequence, issuedAt, devices };
}

/** The bytes the identity key signs for an encoded list. */
export function deviceListSignatureInput(encodedList: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNATURE_LABEL.length + encodedList.length);
  out.set(SIGNATURE_LABEL);
  out.set(encodedList, SIGNATURE_LABEL.length);
  return out;
}

export function encodeSignedDeviceList(signed: SignedDeviceList): Uint8Array {
  if (signed.signature.length !== ED25519_SIGNATURE_LENGTH) {
    throw new ApiError('malformed', 'signed device list: bad signature length');
  }
  if (signed.list.length > MAX_DEVICE_LIST_BYTES) throw new ApiError('too-large', 'device list: too large');
  return new ByteWriter().u16(signed.list.length).bytes(signed.list).bytes(signed.signature).finish();
}

/** Splits a signed list and decodes the list; the caller verifies the signature. */
export function decodeSignedDeviceList(bytes: Uint8Array): SignedDeviceList & { decoded: DeviceList } {
  if (!(bytes instanceof Uint8Array)) throw new ApiError('malformed', 'signed device list: expected bytes');
  if (bytes.length > MAX_SIGNED_DEVICE_LIST_BYTES)
    throw new ApiError('too-large', 'signed device list: too large');
  const reader = new ByteReader(bytes, 'signed device list');
  const list = reader.bytes(reader.u16());
  const signature = reader.bytes(ED25519_SIGNATURE_LENGTH);
  reader.end();
  return { list, signature, decoded: decodeDeviceList(list) };
}

/**
 * Verifies a signed list with the caller's Ed25519 verify (the api package holds no crypto)
 * and that it is signed by the identity key it names. Returns the decoded list.
 */
export async function verifySignedDeviceList(
  bytes: Uint8Array,
  verifyEd25519: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>,
): Promise<DeviceList> {
  const { list, signature, decoded } = decodeSignedDeviceList(bytes);
  if (!(await verifyEd25519(decoded.identityKey, deviceListSignatureInput(list), signature))) {
    throw new ApiError('bad-signature', 'signed device list: signature does not verify');
  }
  return decoded;
}
