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

export interface Device {
  readonly identity: DeviceIdentity;
  readonly client: ProtocolClient;
  readonly store: MemoryProtocolStore;
}

export interface Person {
  readonly username: string;
  readonly account: AccountIdentity;
  list: DeviceList;
  readonly devices: Device[];
}

export class World {
  readonly directory = new VerifiedListDirectory();
  readonly people = new Map<string, Person>();

  constructor(
    readonly cipherSuite: CiphersuiteId,
    private readonly options: { limits?: Partial<ProtocolLimits>; clock?: () => number } = {},
  ) {}

  async device(identity: DeviceIdentity): Promise<Device> {
    const store = new MemoryProtocolStore();
    const client = await ProtocolClient.create({
      device: identity,
      directory: this.directory,
      store,
      ...(this.options.limits ? { limits: this.options.limits } : {}),
      ...(this.options.clock ? { clock: this.options.clock } : {}),
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
