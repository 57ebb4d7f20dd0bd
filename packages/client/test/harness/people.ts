// The people of an attack test: victims (real Messengers through the malicious server's
// proxy, each on an endpoint of their own, with what their app would show collected:
// alarms, "identity changed" notices, roster events) and the attacker's own devices (the
// SDK itself with every defence off, talking straight to the server, as any code the
// attacker likes could).
import {
  MemoryClientStore,
  Messenger,
  type Alarm,
  type MessengerOptions,
  type StoredMessage,
  type UnsafeTestingDisabledDefences,
} from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import {
  generateKeyPair,
  signDeviceList,
  verifyDeviceList,
  type KeyPair,
  type RosterEvent,
} from '@ghostproof/protocol';
import type { DeviceList } from '@ghostproof/api';
import type { MaliciousServer } from './malicious-server.js';

export { eventually } from '@ghostproof/testkit';

/** Everything off: what an attacker's own client, or a client without defences, would do. */
export const allDefencesOff: UnsafeTestingDisabledDefences = {
  keyTransparency: true,
  checkpointExchange: true,
  credentialChecks: true,
  routingCheck: true,
  forkAndGapDetection: true,
};

export class Person {
  readonly alarms: Alarm[] = [];
  /** Usernames whose identity key changed, as the app announces it. */
  readonly identityChanges: string[] = [];
  readonly rosterEvents: { conversationId: string; event: RosterEvent }[] = [];
  private constructor(
    readonly name: string,
    public messenger: Messenger,
    readonly store: MemoryClientStore,
    private readonly options: MessengerOptions,
    private readonly clock: { offset: number },
  ) {}

  private static async options(
    harness: MaliciousServer,
    name: string,
    store: MemoryClientStore,
    defencesOff: UnsafeTestingDisabledDefences,
  ): Promise<{ options: MessengerOptions; clock: { offset: number } }> {
    const clock = { offset: 0 };
    const options: MessengerOptions = {
      serverUrl: await harness.endpoint(name),
      store,
      createSocket: nodeWebSocket,
      clock: () => Date.now() + clock.offset,
      ...(Object.keys(defencesOff).length > 0 ? { unsafeTestingDisableDefences: defencesOff } : {}),
    };
    return { options, clock };
  }

  /** Registers `name` through its own endpoint of the malicious server and connects. */
  static async register(
    harness: MaliciousServer,
    name: string,
    defencesOff: UnsafeTestingDisabledDefences = {},
  ): Promise<Person> {
    const store = new MemoryClientStore();
    const { options, clock } = await Person.options(harness, name, store, defencesOff);
    const person = new Person(name, await Messenger.register(options, name), store, options, clock);
    person.listen();
    await person.messenger.connect();
    return person;
  }

  /** Opens an existing profile (e.g. a restored copy) through `name`'s endpoint and connects. */
  static async open(
    harness: MaliciousServer,
    name: string,
    store: MemoryClientStore,
    defencesOff: UnsafeTestingDisabledDefences = {},
  ): Promise<Person> {
    const { options, clock } = await Person.options(harness, name, store, defencesOff);
    const person = new Person(name, await Messenger.open(options), store, options, clock);
    person.listen();
    await person.messenger.connect();
    return person;
  }

  private listen(): void {
    this.messenger.on('alarm', (alarm) => this.alarms.push(alarm));
    this.messenger.on('identity-changed', ({ username }) => this.identityChanges.push(username));
    this.messenger.on('roster', ({ conversationId, events }) => {
      for (const event of events) this.rosterEvents.push({ conversationId, event });
    });
  }

  /** Moves this person's clock on (past the directory's 30 s cache, for example). */
  advanceClock(ms: number): void {
    this.clock.offset += ms;
  }

  /** Quits the app and starts it again on the same profile: it checks its account on connect. */
  async restart(): Promise<void> {
    await this.messenger.close();
    this.messenger = await Messenger.open(this.options);
    this.listen();
    await this.messenger.connect();
  }

  /** A copy of this profile as it is now, as a backup restored later would be. */
  copyOfProfile(): MemoryClientStore {
    return structuredCloneStore(this.store);
  }

  /** The session token this device signs in with (for calls the SDK does not offer yet). */
  async sessionToken(): Promise<Uint8Array> {
    return (
      this.messenger as unknown as { sessionToken(refresh: boolean): Promise<Uint8Array> }
    ).sessionToken(false);
  }

  alarmsOf(kind: Alarm['kind']): Alarm[] {
    return this.alarms.filter((a) => a.kind === kind);
  }

  async texts(conversationId: string): Promise<string[]> {
    return (await this.messenger.messages(conversationId).catch((): StoredMessage[] => [])).map(
      (m) => m.text,
    );
  }

  /** This account's signed device list as its own device holds it. */
  async ownList(): Promise<{ list: DeviceList; signed: Uint8Array; identity: KeyPair }> {
    const identity = (await this.store.getIdentity())!;
    return {
      list: await verifyDeviceList(identity.signedDeviceList),
      signed: identity.signedDeviceList,
      identity: { publicKey: identity.identityPublicKey, secretKey: identity.identitySecretKey },
    };
  }

  async close(): Promise<void> {
    await this.messenger.close();
  }
}

/** A deep copy of an in-memory profile, as a backup restored elsewhere would be. */
function structuredCloneStore(store: MemoryClientStore): MemoryClientStore {
  const copy = Object.create(MemoryClientStore.prototype) as MemoryClientStore;
  Object.assign(copy, structuredClone({ ...store }));
  return copy;
}

/**
 * A device list of the attacker's making for someone else's account. The server cannot sign
 * with the account's identity key, so it signs with one of its own.
 */
export async function forgeDeviceList(
  username: string,
  sequence: bigint,
  devices: readonly { id: number; signatureKey: Uint8Array }[],
  identity?: KeyPair,
): Promise<{ list: DeviceList; signed: Uint8Array; identity: KeyPair }> {
  const key = identity ?? (await generateKeyPair());
  const now = BigInt(Date.now());
  const { list, signed } = await signDeviceList(
    { username, identityKey: key },
    {
      username,
      identityKey: key.publicKey,
      sequence,
      issuedAt: now,
      devices: devices.map((d) => ({ id: d.id, signatureKey: d.signatureKey, addedAt: now })),
    },
  );
  return { list, signed, identity: key };
}

/**
 * A device the attacker runs under someone else's account (the server let it sign in by
 * adding its key to its own tables): the SDK with every defence off, straight to the server.
 * It uploads key packages, so adders that believe the forged list add it, and it joins and
 * reads whatever it is added to.
 */
export async function attackerDevice(
  harness: MaliciousServer,
  username: string,
  deviceId: number,
  device: KeyPair,
  account: { identity: KeyPair; signed: Uint8Array },
): Promise<Messenger> {
  const store = new MemoryClientStore();
  await store.putIdentity({
    serverUrl: harness.serverUrl,
    username,
    identityPublicKey: account.identity.publicKey,
    identitySecretKey: account.identity.secretKey,
    deviceId,
    devicePublicKey: device.publicKey,
    deviceSecretKey: device.secretKey,
    signedDeviceList: account.signed,
  });
  const messenger = await Messenger.open({
    serverUrl: harness.serverUrl,
    store,
    createSocket: nodeWebSocket,
    unsafeTestingDisableDefences: allDefencesOff,
  });
  await messenger.connect();
  await messenger.replenishKeyPackages();
  return messenger;
}

export async function textsOf(messenger: Messenger, conversationId?: string): Promise<string[]> {
  const ids = conversationId ? [conversationId] : (await messenger.listConversations()).map((c) => c.id);
  const out: string[] = [];
  for (const id of ids)
    out.push(...(await messenger.messages(id).catch((): StoredMessage[] => [])).map((m) => m.text));
  return out;
}
