// People for protocol tests: accounts with devices, a shared directory of verified device
// lists (what key transparency will provide), and each device's ProtocolClient and store.
// There is no server here; tests hand the bytes from one device to another themselves.
import {
  addDeviceToList,
  createAccount,
  generateKeyPair,
  MemoryProtocolStore,
  ProtocolClient,
  verifyDeviceList,
  VerifiedListDirectory,
  type AccountIdentity,
  type Conversation,
  type DeviceIdentity,
  type ProtocolLimits,
} from '@ghostproof/protocol';
import type { CiphersuiteId } from '@ghostproof/crypto';
import type { DeviceList } from '@ghostproof/api';
import { ciphersuites } from '@ghostproof/testkit/ciphersuites';

export interface Device {
  readonly identity: DeviceIdentity;
  readonly client: ProtocolClient;
  readonly store: MemoryProtocolStore;
}

export interface Person {
  readonly username: string;
  readonly account: AccountIdentity;
  list: DeviceList;
  /** The list as the identity key signed it (what the server and KT hold). */
  signedList: Uint8Array;
  readonly devices: Device[];
}

export class World {
  readonly directory = new VerifiedListDirectory();
  readonly people = new Map<string, Person>();

  constructor(
    readonly cipherSuite: CiphersuiteId,
    private readonly options: {
      limits?: Partial<ProtocolLimits>;
      clock?: () => number;
      unsafeTestingAcceptAllCredentials?: boolean;
      unsafeTestingIgnoreForksAndGaps?: boolean;
    } = {},
  ) {}

  async device(identity: DeviceIdentity): Promise<Device> {
    const store = new MemoryProtocolStore();
    const client = await ProtocolClient.create({
      device: identity,
      directory: this.directory,
      store,
      ...(this.options.limits ? { limits: this.options.limits } : {}),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      unsafeTestingAcceptAllCredentials: this.options.unsafeTestingAcceptAllCredentials ?? false,
      unsafeTestingIgnoreForksAndGaps: this.options.unsafeTestingIgnoreForksAndGaps ?? false,
    });
    return { identity, client, store };
  }

  async person(username: string, deviceCount = 1): Promise<Person> {
    const { account, device, deviceList } = await createAccount(username);
    const list = await verifyDeviceList(deviceList.signed);
    this.directory.put(list);
    const person: Person = {
      username: account.username,
      account,
      list,
      signedList: deviceList.signed,
      devices: [await this.device(device)],
    };
    this.people.set(person.username, person);
    for (let i = 1; i < deviceCount; i++) await this.linkDevice(person);
    return person;
  }

  async linkDevice(person: Person): Promise<Device> {
    const signatureKey = await generateKeyPair();
    const { deviceId, deviceList } = await addDeviceToList(
      person.account,
      person.list,
      signatureKey.publicKey,
    );
    person.list = await verifyDeviceList(deviceList.signed);
    person.signedList = deviceList.signed;
    this.directory.put(person.list);
    const device = await this.device({ username: person.username, deviceId, signatureKey });
    person.devices.push(device);
    return device;
  }

  /** What the server's key-package claim would return: one package per device of the account. */
  async claimKeyPackages(person: Person): Promise<Map<number, Uint8Array>> {
    const claimed = new Map<number, Uint8Array>();
    for (const device of person.devices) {
      const { oneTime } = await device.client.generateKeyPackages(1, this.cipherSuite);
      claimed.set(device.identity.deviceId, oneTime[0]!);
    }
    return claimed;
  }
}

/** Processes bytes on each receiver, returning their outcomes in order. */
export async function deliver(conversations: readonly Conversation[], bytes: Uint8Array) {
  const outcomes = [];
  for (const c of conversations) outcomes.push(await c.process(bytes));
  return outcomes;
}

/** The test kit's ciphersuites as [label, id], the shape these tests loop over. */
export const suites = ciphersuites.map((s) => [s.label, s.id] as const) satisfies readonly (readonly [
  string,
  CiphersuiteId,
])[];

/** Confirms a pending commit on its author and has every other conversation process it. */
export async function land(
  author: Conversation,
  pending: { id: string; commit: Uint8Array },
  others: readonly Conversation[],
) {
  await author.confirm(pending.id);
  return deliver(others, pending.commit);
}

/** Every device of these people, joined to `creator`'s new conversation through one commit. */
export async function groupOf(
  world: World,
  creator: Person,
  others: readonly Person[],
  kind: 'direct' | 'group' = 'group',
) {
  const first = await creator.devices[0]!.client.createConversation({ kind, cipherSuite: world.cipherSuite });
  const additions = [];
  for (const person of others)
    additions.push({ username: person.username, keyPackages: await world.claimKeyPackages(person) });
  const conversations = new Map<string, Conversation>([[`${creator.username}/1`, first]]);
  if (additions.length > 0) {
    const { pending, missing } = await first.prepareAddMembers(additions);
    if (missing.length > 0 || !pending) throw new Error('missing key packages');
    await first.confirm(pending.id);
    for (const person of others) {
      for (const device of person.devices) {
        conversations.set(
          `${person.username}/${device.identity.deviceId}`,
          await device.client.joinFromWelcome(pending.welcome!),
        );
      }
    }
  }
  // The creator's other devices are added by the creator (own-account devices).
  if (creator.devices.length > 1) {
    const packages = new Map<number, Uint8Array>();
    for (const device of creator.devices.slice(1)) {
      const { oneTime } = await device.client.generateKeyPackages(1, world.cipherSuite);
      packages.set(device.identity.deviceId, oneTime[0]!);
    }
    const { pending } = await first.prepareAddOwnDevices(packages);
    const existing = [...conversations.values()].filter((c) => c !== first);
    await land(first, pending!, existing);
    for (const device of creator.devices.slice(1)) {
      conversations.set(
        `${creator.username}/${device.identity.deviceId}`,
        await device.client.joinFromWelcome(pending!.welcome!),
      );
    }
  }
  return conversations;
}
