// The MLS authentication service: a credential is valid only if the account and device it
// names, and the leaf's signature key, match the account's verified device list. There is
// no accept-all path outside tests; ts-mls consults this on Welcome joins, commits and
// commit creation, and the conversation checks standalone proposals and senders itself.
import { constantTimeEqual } from '@ghostproof/crypto';
import type { AuthenticationService, Credential } from 'ts-mls';
import { credentialAddress, type DeviceAddress } from './credential.js';
import type { DeviceDirectory } from './directory.js';

export async function deviceKeyMatches(
  directory: DeviceDirectory,
  address: DeviceAddress,
  signatureKey: Uint8Array,
): Promise<boolean> {
  const list = await directory.lookup(address.username);
  const device = list?.devices.find((d) => d.id === address.deviceId);
  return device !== undefined && constantTimeEqual(device.signatureKey, signatureKey);
}

export function createAuthenticationService(directory: DeviceDirectory): AuthenticationService {
  return {
    async validateCredential(credential: Credential, signaturePublicKey: Uint8Array): Promise<boolean> {
      const address = credentialAddress(credential);
      if (!address) return false;
      return deviceKeyMatches(directory, address, signaturePublicKey);
    },
  };
}
