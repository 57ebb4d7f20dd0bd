// Device lists fetched from the server and verified here: signed by the identity key they
// name, for the account asked about, never older than one seen before, and with the identity
// key pinned on first use (a change is reported, never silently accepted). Key transparency
// proofs will be required here as well once the server serves them.
import { canonicalUsername, routes, verifySignedDeviceList, type DeviceList } from '@ghostproof/api';
import { constantTimeEqual, createPlatformPrimitives } from '@ghostproof/crypto';
import type { DeviceDirectory } from '@ghostproof/protocol';
import { ClientError } from './errors.js';
import type { HttpApi } from './http.js';
import type { ClientStore } from './store.js';
import { ApiError } from '@ghostproof/api';

export interface IdentityChange {
  readonly username: string;
  readonly previousKey: Uint8Array;
  readonly newKey: Uint8Array;
}

export class ServerDirectory implements DeviceDirectory {
  private readonly cache = new Map<string, { list: DeviceList; at: number }>();

  constructor(
    private readonly http: HttpApi,
    private readonly store: ClientStore,
    private readonly token: () => Promise<Uint8Array>,
    private readonly clock: () => number,
    private readonly onIdentityChange: (change: IdentityChange) => void,
    private readonly maxAgeMs = 60_000,
  ) {}

  /** Forgets cached lists, so the next lookup asks the server (after a roster change). */
  invalidate(username?: string): void {
    if (username) this.cache.delete(username);
    else this.cache.clear();
  }

  async lookup(username: string): Promise<DeviceList | undefined> {
    const name = canonicalUsername(username);
    const cached = this.cache.get(name);
    if (cached && this.clock() - cached.at < this.maxAgeMs) return cached.list;
    let signed: Uint8Array;
    try {
      const response = await this.http.call(routes.getDeviceList, {
        params: { username: name },
        token: await this.token(),
      });
      signed = response.signedDeviceList;
    } catch (err) {
      if (ApiError.is(err, 'not-found')) return undefined;
      throw err;
    }
    const platform = await createPlatformPrimitives();
    const list = await verifySignedDeviceList(signed, (pk, msg, sig) =>
      platform.ed25519.verify(pk, msg, sig),
    );
    if (list.username !== name) throw new ClientError('unknown-user', 'device list names another account');
    if (cached && list.sequence < cached.list.sequence) {
      throw new ClientError('identity-changed', 'server served an older device list');
    }
    await this.pin(list);
    this.cache.set(name, { list, at: this.clock() });
    return list;
  }

  private async pin(list: DeviceList): Promise<void> {
    const contact = await this.store.getContact(list.username);
    if (!contact) {
      await this.store.putContact({
        username: list.username,
        identityKey: list.identityKey,
        verified: false,
        blocked: false,
        accepted: false,
        identityChangedAt: 0,
        displayName: '',
      });
      return;
    }
    if (constantTimeEqual(contact.identityKey, list.identityKey)) return;
    const previousKey = contact.identityKey;
    // A verified contact stays marked verified until the change is acknowledged: sending to
    // them is blocked meanwhile (Messenger.acknowledgeIdentityChange).
    await this.store.putContact({
      ...contact,
      identityKey: list.identityKey,
      identityChangedAt: this.clock(),
    });
    this.onIdentityChange({ username: list.username, previousKey, newKey: list.identityKey });
  }
}
