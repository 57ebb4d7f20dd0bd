// The identity inside every MLS credential: which account and which of its devices a leaf
// is. It is a BasicCredential whose identity bytes are this small structure; the
// authentication service checks it, with the leaf's signature key, against the account's
// verified device list.
import { ByteReader, ByteWriter, canonicalUsername } from '@ghostproof/api';
import { defaultCredentialTypes, type Credential } from 'ts-mls';
import { ProtocolError } from './errors.js';

const CREDENTIAL_FORMAT = 1;
const MAX_CREDENTIAL_IDENTITY_BYTES = 1 + 1 + 32 + 4;

export interface DeviceAddress {
  /** Canonical username. */
  readonly username: string;
  readonly deviceId: number;
}

export function encodeCredentialIdentity(address: DeviceAddress): Uint8Array {
  const username = canonicalUsername(address.username);
  return new ByteWriter()
    .u8(CREDENTIAL_FORMAT)
    .u8(username.length)
    .bytes(new TextEncoder().encode(username))
    .u32(address.deviceId)
    .finish();
}

export function decodeCredentialIdentity(bytes: Uint8Array): DeviceAddress {
  if (bytes.length > MAX_CREDENTIAL_IDENTITY_BYTES)
    throw new ProtocolError('malformed', 'credential: too long');
  try {
    const reader = new ByteReader(bytes, 'credential');
    if (reader.u8() !== CREDENTIAL_FORMAT) throw new ProtocolError('malformed', 'credential: unknown format');
    const username = new TextDecoder('utf-8', { fatal: true }).decode(reader.bytes(reader.u8()));
    const deviceId = reader.u32();
    reader.end();
    if (canonicalUsername(username) !== username || deviceId === 0) {
      throw new ProtocolError('malformed', 'credential: not canonical');
    }
    return { username, deviceId };
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    throw new ProtocolError('malformed', 'credential: cannot decode', { cause });
  }
}

export function makeCredential(address: DeviceAddress): Credential {
  return { credentialType: defaultCredentialTypes.basic, identity: encodeCredentialIdentity(address) };
}

/** The device a credential names, or undefined for any credential that is not ours. */
export function credentialAddress(credential: Credential): DeviceAddress | undefined {
  if (credential.credentialType !== defaultCredentialTypes.basic || !('identity' in credential))
    return undefined;
  try {
    return decodeCredentialIdentity(credential.identity);
  } catch {
    return undefined;
  }
}

export function sameAddress(a: DeviceAddress, b: DeviceAddress): boolean {
  return a.username === b.username && a.deviceId === b.deviceId;
}

export function addressKey(address: DeviceAddress): string {
  return `${address.username}/${address.deviceId}`;
}
