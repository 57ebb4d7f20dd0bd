// Accounts and devices. An account is a username and an identity key (Ed25519) that signs the
// account's device list; each device has its own Ed25519 key, which is also its MLS
// credential key. Private keys stay on the devices that own them.
import {
  deviceListSignatureInput,
  encodeDeviceList,
  encodeSignedDeviceList,
  registrableUsername,
  verifySignedDeviceList,
  MAX_DEVICES,
  type DeviceList,
} from '@ghostproof/api';
import { createPlatformPrimitives } from '@ghostproof/crypto';
import type { DeviceAddress } from './credential.js';
import { ProtocolError } from './errors.js';

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface AccountIdentity {
  readonly username: string;
  readonly identityKey: KeyPair;
}

export interface DeviceIdentity extends DeviceAddress {
  readonly signatureKey: KeyPair;
}

export interface SignedList {
  readonly list: DeviceList;
  /** Encoded SignedDeviceList, as the server and key transparency store it. */
  readonly signed: Uint8Array;
}

async function primitives() {
  return createPlatformPrimitives();
}

export async function generateKeyPair(): Promise<KeyPair> {
  const { secretKey, publicKey } = await (await primitives()).ed25519.generate();
  return { secretKey, publicKey };
}

export async function signDeviceList(account: AccountIdentity, list: DeviceList): Promise<SignedList> {
  if (list.username !== account.username)
    throw new ProtocolError('not-allowed', 'device list: another account');
  const encoded = encodeDeviceList(list);
  const signature = await (
    await primitives()
  ).ed25519.sign(account.identityKey.secretKey, deviceListSignatureInput(encoded));
  return { list, signed: encodeSignedDeviceList({ list: encoded, signature }) };
}

/** A new account with its first device (id 1) and the first signed device list (sequence 1). */
export async function createAccount(
  username: string,
  now: bigint = BigInt(Date.now()),
): Promise<{ account: AccountIdentity; device: DeviceIdentity; deviceList: SignedList }> {
  const name = registrableUsername(username);
  const account: AccountIdentity = { username: name, identityKey: await generateKeyPair() };
  const device: DeviceIdentity = { username: name, deviceId: 1, signatureKey: await generateKeyPair() };
  const deviceList = await signDeviceList(account, {
    username: name,
    identityKey: account.identityKey.publicKey,
    sequence: 1n,
    issuedAt: now,
    devices: [{ id: 1, signatureKey: device.signatureKey.publicKey, addedAt: now }],
  });
  return { account, device, deviceList };
}

/** The next list with one more device, whose key the new device generated itself. */
export async function addDeviceToList(
  account: AccountIdentity,
  current: DeviceList,
  devicePublicKey: Uint8Array,
  now: bigint = BigInt(Date.now()),
): Promise<{ deviceId: number; deviceList: SignedList }> {
  if (current.devices.length >= MAX_DEVICES) throw new ProtocolError('not-allowed', 'device list: full');
  const deviceId = Math.max(...current.devices.map((d) => d.id)) + 1;
  const deviceList = await signDeviceList(account, {
    ...current,
    sequence: current.sequence + 1n,
    issuedAt: now,
    devices: [...current.devices, { id: deviceId, signatureKey: devicePublicKey, addedAt: now }],
  });
  return { deviceId, deviceList };
}

export async function removeDeviceFromList(
  account: AccountIdentity,
  current: DeviceList,
  deviceId: number,
  now: bigint = BigInt(Date.now()),
): Promise<SignedList> {
  const devices = current.devices.filter((d) => d.id !== deviceId);
  if (devices.length === current.devices.length)
    throw new ProtocolError('not-allowed', 'device list: no such device');
  return signDeviceList(account, { ...current, sequence: current.sequence + 1n, issuedAt: now, devices });
}

/** Verifies a signed device list under the identity key it names; the caller checks that key. */
export async function verifyDeviceList(signed: Uint8Array): Promise<DeviceList> {
  const platform = await primitives();
  return verifySignedDeviceList(signed, (publicKey, message, signature) =>
    platform.ed25519.verify(publicKey, message, signature),
  );
}
