// The load generator that bench:relay and bench:cluster share, so that their figures come
// from the same clients and the same loops. It is written against packages/api only (frames,
// routes, MLS encoders; keys from @ghostproof/crypto) and talks to servers that run as child
// processes (bench/relay-servers.ts), never in this process.
//
// - Clients: RawClient for the raw relay baseline ([u32 recipient][payload] frames),
//   OursClient for a Ghostproof server (an authenticated WebSocket session: sendMessage,
//   deliveries acknowledged once per event-loop turn, as a real client would batch them).
// - Payloads are 200 bytes (for ours: the whole MLS PrivateMessage); their last 16 bytes
//   carry the sender's index and the send time, so one clock measures send to delivery.
// - throughputRound: closed loop, a window of messages in flight per client, delivered msg/s
//   and CPU per delivered message of the processes named by the caller.
// - latencyRun: open loop at a fixed offered rate, send-to-delivery latency.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  ContentType,
  decodeResponse,
  DeliveryKind,
  decodeServerFrame,
  deviceListSignatureInput,
  encodeClientFrame,
  encodeDeviceList,
  encodeKeyPackage,
  encodePrivateMessage,
  encodeRequest,
  encodeSignedDeviceList,
  encodeWelcome,
  keyPackageRef,
  parseKeyPackage,
  pathFor,
  PROTOBUF_CONTENT_TYPE,
  routes,
  signInSignatureInput,
  toBase64Url,
  type ClientFrameSchema,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
  type Route,
} from '@ghostproof/api';

export const PAYLOAD_BYTES = 200;
const ed = platformPrimitives.ed25519;
const root = new URL('../', import.meta.url).pathname;

// ---- processes ----------------------------------------------------------------------------

export interface ChildServer {
  readonly process: ChildProcess;
  readonly port: number;
}

/**
 * Spawns `node args` with the open-files limit raised to the hard limit, and resolves with
 * the port it prints as {"port": n}. The child's stdin is a pipe that this process holds:
 * relay-servers.ts stops when it closes, so no server outlives the benchmark, even one
 * killed with SIGKILL.
 */
export async function spawnServer(args: string[]): Promise<ChildServer> {
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', process.execPath, ...args],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port !== undefined) resolve(port);
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
  return { process: child, port };
}

/** CPU time (user + system) a process has used, in seconds; 0 once it has gone. */
export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Processes whose command line contains `text` (for example a PostgreSQL backend's title). */
export function pidsMatching(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error('no VmRSS');
  return Number(kb[1]) * 1024;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

// ---- HTTP against the API ------------------------------------------------------------------

export async function call<Req extends DescMessage, Res extends DescMessage>(
  base: string,
  route: Route<Req | null, Res>,
  init: MessageInitShape<Req> | undefined,
  token?: Uint8Array,
): Promise<MessageShape<Res>> {
  const headers: Record<string, string> = { 'content-type': PROTOBUF_CONTENT_TYPE };
  if (token) headers.authorization = `Bearer ${toBase64Url(token)}`;
  const body = route.request
    ? new Uint8Array(encodeRequest(route as Route<Req, DescMessage | null>, init!))
    : null;
  const res = await fetch(new URL(pathFor(route), base), { method: route.method, headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${route.name}: HTTP ${res.status} ${res.headers.get('ghostproof-error')}`);
  return decodeResponse(route.response, bytes, 1 << 24);
}

export interface Account {
  readonly username: string;
  /** Devices 1..n; device 1 generates load, all of them can hold an idle connection. */
  readonly devices: { publicKey: Uint8Array; secretKey: Uint8Array }[];
  readonly tokens: Uint8Array[];
}

async function signedList(
  username: string,
  identity: { publicKey: Uint8Array; secretKey: Uint8Array },
  sequence: bigint,
  devices: readonly { publicKey: Uint8Array }[],
): Promise<Uint8Array> {
  const list = encodeDeviceList({
    username,
    identityKey: identity.publicKey,
    sequence,
    issuedAt: BigInt(Date.now()),
    devices: devices.map((d, i) => ({ id: i + 1, signatureKey: d.publicKey, addedAt: BigInt(Date.now()) })),
  });
  const signature = await ed.sign(identity.secretKey, deviceListSignatureInput(list));
  return encodeSignedDeviceList({ list, signature });
}

async function signIn(base: string, username: string, deviceId: number, device: { secretKey: Uint8Array }) {
  const challenge = await call(base, routes.challenge, undefined);
  const clientNonce = crypto.getRandomValues(new Uint8Array(32));
  const signature = await ed.sign(
    device.secretKey,
    signInSignatureInput({
      origin: base,
      serverNonce: challenge.serverNonce,
      clientNonce,
      username,
      deviceId,
    }),
  );
  const session = await call(base, routes.signIn, {
    username,
    deviceId,
    serverNonce: challenge.serverNonce,
    clientNonce,
    signature,
  });
  return session.sessionToken;
}

/**
 * Registers an account with device 1, then links the other devices in one device-list
 * update (two key transparency updates per account, whatever the number of devices), and
 * signs every device in at `base` (the origin a device signs is the node it talks to).
 */
export async function createAccount(base: string, index: number, deviceCount: number): Promise<Account> {
  const identity = await ed.generate();
  const devices = await Promise.all(Array.from({ length: deviceCount }, () => ed.generate()));
  const username = `bench-${index}`;
  await call(base, routes.register, {
    signedDeviceList: await signedList(username, identity, 1n, devices.slice(0, 1)),
  });
  const first = await signIn(base, username, 1, devices[0]!);
  if (deviceCount > 1) {
    await call(
      base,
      routes.updateDeviceList,
      { signedDeviceList: await signedList(username, identity, 2n, devices) },
      first,
    );
  }
  const tokens = [first];
  for (let d = 2; d <= deviceCount; d++) tokens.push(await signIn(base, username, d, devices[d - 1]!));
  return { username, devices, tokens };
}

async function keyPackage(account: Account): Promise<{ bytes: Uint8Array; ref: Uint8Array }> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const bytes = await encodeKeyPackage(
    {
      cipherSuite: 0xf00d,
      initKey: crypto.getRandomValues(new Uint8Array(32)),
      encryptionKey: crypto.getRandomValues(new Uint8Array(32)),
      signatureKey: account.devices[0]!.publicKey,
      identity: new TextEncoder().encode(account.username),
      notBefore: now - 60n,
      notAfter: now + 86_400n,
    },
    (m) => ed.sign(account.devices[0]!.secretKey, m),
  );
  return {
    bytes,
    ref: await keyPackageRef(parseKeyPackage(bytes), (h, d) => platformPrimitives.digest(h, d)),
  };
}

// ---- payloads ------------------------------------------------------------------------------
// The last 16 bytes of every payload: sender index (u32), spare (u32), send time (f64, ms).

function stamp(buffer: Uint8Array, sender: number, at: number): void {
  const view = new DataView(buffer.buffer, buffer.byteOffset + buffer.length - 16, 16);
  view.setUint32(0, sender);
  view.setFloat64(8, at);
}

function readStamp(buffer: Uint8Array): { sender: number; at: number } {
  const view = new DataView(buffer.buffer, buffer.byteOffset + buffer.length - 16, 16);
  return { sender: view.getUint32(0), at: view.getFloat64(8) };
}

// ---- load clients --------------------------------------------------------------------------

export type OnDelivery = (sender: number, sentAt: number) => void;

export interface LoadClient {
  /** Sends one payload to a random recipient, stamped with the send time. */
  send(at: number): void;
  close(): void;
}

export class RawClient implements LoadClient {
  private constructor(
    private readonly ws: WebSocket,
    private readonly index: number,
    private readonly peers: number,
  ) {}

  /** Client `index` of `peers`, all on one relay; it sends to a random one of the others. */
  static async connect(
    port: number,
    index: number,
    peers: number,
    onDelivery: OnDelivery,
  ): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${index}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => {
      const { sender, at } = readStamp(data);
      onDelivery(sender, at);
    });
    return new RawClient(ws, index, peers);
  }

  send(at: number): void {
    let to = Math.floor(Math.random() * (this.peers - 1));
    if (to >= this.index) to++;
    const frame = new Uint8Array(4 + PAYLOAD_BYTES);
    new DataView(frame.buffer).setUint32(0, to);
    stamp(frame, this.index, at);
    this.ws.send(frame);
  }

  close(): void {
    this.ws.close();
  }
}

export class OursClient implements LoadClient {
  /** Message templates, one per conversation (group id, epoch 1, 200 bytes in all). */
  readonly conversations: Uint8Array[] = [];
  private nextRequest = 1;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private acks: Uint8Array[] = [];
  private ackScheduled = false;
  errors = 0;

  private constructor(
    readonly ws: WebSocket,
    readonly index: number,
    private onDelivery: OnDelivery,
  ) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(data);
      if (frame.body.case === 'delivery') {
        const delivery = frame.body.value;
        this.queueAck(delivery.messageId);
        if (delivery.kind === DeliveryKind.MESSAGE) {
          const { sender, at } = readStamp(delivery.message);
          this.onDelivery(sender, at);
        }
      } else if (frame.body.case === 'response') {
        const { requestId, result } = frame.body.value;
        if (result.case === 'error') this.errors++;
        const resolve = this.waiting.get(requestId);
        if (resolve) {
          this.waiting.delete(requestId);
          resolve(result.case !== 'error');
        }
      }
    });
  }

  static async connect(
    port: number,
    index: number,
    token: Uint8Array,
    onDelivery: OnDelivery,
  ): Promise<OursClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const client = new OursClient(ws, index, onDelivery);
    if (!(await client.request({ case: 'authenticate', value: { sessionToken: token } }))) {
      throw new Error('not authenticated');
    }
    return client;
  }

  setOnDelivery(onDelivery: OnDelivery): void {
    this.onDelivery = onDelivery;
  }

  request(body: NonNullable<MessageInitShape<typeof ClientFrameSchema>['body']>): Promise<boolean> {
    const requestId = this.nextRequest++;
    const done = new Promise<boolean>((resolve) => this.waiting.set(requestId, resolve));
    this.ws.send(encodeClientFrame({ requestId, body }));
    return done;
  }

  /** Acks go out once per event-loop turn, as a real client would batch them. */
  private queueAck(id: Uint8Array): void {
    this.acks.push(id);
    if (!this.ackScheduled) {
      this.ackScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  private flushAcks(): void {
    this.ackScheduled = false;
    while (this.acks.length > 0 && this.ws.readyState === WebSocket.OPEN) {
      const messageIds = this.acks.splice(0, 1000);
      this.ws.send(
        encodeClientFrame({ requestId: this.nextRequest++, body: { case: 'ack', value: { messageIds } } }),
      );
    }
  }

  send(at: number): void {
    const template = this.conversations[Math.floor(Math.random() * this.conversations.length)]!;
    const message = template.slice();
    stamp(message, this.index, at);
    const requestId = this.nextRequest++;
    this.ws.send(
      encodeClientFrame({
        requestId,
        body: {
          case: 'sendMessage',
          value: { clientId: crypto.getRandomValues(new Uint8Array(16)), message },
        },
      }),
    );
  }

  close(): void {
    this.ws.close();
  }
}

function messageTemplate(groupId: Uint8Array): Uint8Array {
  const empty = encodePrivateMessage({
    groupId,
    epoch: 1n,
    contentType: ContentType.Application,
    encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
    ciphertext: new Uint8Array(0),
  });
  // Fill the ciphertext so that the whole MLSMessage is PAYLOAD_BYTES (one-byte length prefix).
  const ciphertextLength = PAYLOAD_BYTES - empty.length;
  return encodePrivateMessage({
    groupId,
    epoch: 1n,
    contentType: ContentType.Application,
    encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
    ciphertext: crypto.getRandomValues(new Uint8Array(ciphertextLength)),
  });
}

// ---- conversations -------------------------------------------------------------------------

export interface ConversationSetup {
  readonly accounts: readonly Account[];
  /** Client i (device 1 of account i), connected to the node at bases[i]. */
  readonly clients: readonly OursClient[];
  /** The HTTP base URL each client's node answers on. */
  readonly bases: readonly string[];
  readonly groupsPerClient: number;
  /** Picks a random peer for client i (default: any client; i itself is skipped). */
  readonly peerOf?: (i: number) => number;
}

/**
 * Uploads key packages for every client, then has every client create groupsPerClient 1:1
 * MLS groups with random peers (createGroup, claim of the peer's key package, a commit with
 * a Welcome), so that each client ends with its own groups and those peers created with it.
 */
export async function setUpConversations(setup: ConversationSetup): Promise<void> {
  const { accounts, clients, bases, groupsPerClient } = setup;
  const count = clients.length;
  const randomPeer = setup.peerOf ?? (() => Math.floor(Math.random() * count));
  await inBatches([...clients.keys()], 32, async (i) => {
    const kps = await Promise.all(
      Array.from({ length: 2 * groupsPerClient + 4 }, () => keyPackage(accounts[i]!)),
    );
    const last = await keyPackage(accounts[i]!);
    await call(
      bases[i]!,
      routes.uploadKeyPackages,
      { oneTime: kps.map((k) => k.bytes), lastResort: last.bytes },
      accounts[i]!.tokens[0],
    );
  });
  await inBatches([...clients.keys()], 32, async (i) => {
    const client = clients[i]!;
    const peers = new Set<number>();
    while (peers.size < groupsPerClient) {
      const p = randomPeer(i);
      if (p !== i) peers.add(p);
    }
    for (const peer of peers) {
      const groupId = crypto.getRandomValues(new Uint8Array(16));
      await client.request({ case: 'createGroup', value: { groupId } });
      const claim = await call(
        bases[i]!,
        routes.claimKeyPackages,
        { username: accounts[peer]!.username },
        accounts[i]!.tokens[0],
      );
      const kp = claim.keyPackages[0]!;
      const ref = await keyPackageRef(parseKeyPackage(kp.keyPackage), (h, d) =>
        platformPrimitives.digest(h, d),
      );
      const ok = await client.request({
        case: 'sendCommit',
        value: {
          clientId: crypto.getRandomValues(new Uint8Array(16)),
          commit: encodePrivateMessage({
            groupId,
            epoch: 0n,
            contentType: ContentType.Commit,
            encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
            ciphertext: crypto.getRandomValues(new Uint8Array(400)),
          }),
          welcome: encodeWelcome({
            cipherSuite: 0xf00d,
            secrets: [
              { keyPackageRef: ref, kemOutput: new Uint8Array(1120), ciphertext: new Uint8Array(100) },
            ],
            encryptedGroupInfo: crypto.getRandomValues(new Uint8Array(800)),
          }),
        },
      });
      if (!ok) throw new Error('group setup failed');
      client.conversations.push(messageTemplate(groupId));
      clients[peer]!.conversations.push(messageTemplate(groupId));
    }
  });
}

// ---- measurements --------------------------------------------------------------------------

export interface ThroughputOptions {
  /** Messages each client keeps in flight. */
  readonly window: number;
  /** The measured window; a quarter of it again goes before, as ramp-up. */
  readonly roundMs: number;
}

export interface ThroughputResult {
  /** Delivered messages per second. */
  readonly rate: number;
  /** CPU microseconds per delivered message, for each meter the caller passed. */
  readonly cpuUs: Record<string, number>;
  /** CPU microseconds per delivered message of this process. */
  readonly generatorUs: number;
}

/**
 * Closed loop: every client keeps `window` messages in flight; each delivery makes its
 * sender send again. `cpuMeters` read the CPU seconds of the processes to account for.
 */
export async function throughputRound(
  clients: readonly LoadClient[],
  setHandler: (h: OnDelivery) => void,
  cpuMeters: Record<string, () => number>,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  let active = true;
  let delivered = 0;
  let outstanding = 0;
  setHandler((sender) => {
    outstanding--;
    if (!active) return;
    delivered++;
    outstanding++;
    clients[sender]!.send(0);
  });
  for (const c of clients) {
    for (let i = 0; i < options.window; i++) {
      outstanding++;
      c.send(0);
    }
  }
  // Measure after the first quarter, once every client is sending.
  await sleep(options.roundMs / 4);
  const readCpu = () => Object.fromEntries(Object.entries(cpuMeters).map(([name, read]) => [name, read()]));
  const started = performance.now();
  const [startCount, cpuBefore, ownCpu] = [delivered, readCpu(), process.cpuUsage()];
  await sleep(options.roundMs);
  const count = delivered - startCount;
  const elapsed = performance.now() - started;
  const cpuAfter = readCpu();
  const own = process.cpuUsage(ownCpu);
  active = false;
  const drainBy = Date.now() + 5000;
  while (outstanding > 0 && Date.now() < drainBy) await sleep(20);
  await sleep(200);
  const cpuUs = Object.fromEntries(
    Object.keys(cpuMeters).map((name) => [name, ((cpuAfter[name]! - cpuBefore[name]!) * 1e6) / count]),
  );
  return { rate: (count * 1000) / elapsed, cpuUs, generatorUs: (own.user + own.system) / count };
}

export interface LatencyOptions {
  /** Offered messages per second, across all clients in turn. */
  readonly rate: number;
  /** Length of the run, warm-up included. */
  readonly durationMs: number;
  /** Messages sent in the first warmupMs are delivered but not sampled. */
  readonly warmupMs: number;
}

export interface LatencyResult {
  readonly p50: number;
  readonly p99: number;
  readonly delivered: number;
  readonly expected: number;
}

/** Open loop at `rate` msg/s across all clients; send-to-delivery latency. */
export async function latencyRun(
  clients: readonly LoadClient[],
  setHandler: (h: OnDelivery) => void,
  options: LatencyOptions,
): Promise<LatencyResult> {
  const { rate, durationMs, warmupMs } = options;
  const samples: number[] = [];
  const started = performance.now();
  let lastDelivery = performance.now();
  setHandler((_sender, at) => {
    lastDelivery = performance.now();
    if (at - started >= warmupMs) samples.push(performance.now() - at);
  });
  let sent = 0;
  /** Messages sent after the warm-up: each must arrive once, as one sample. */
  let sampled = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const elapsed = now - started;
      if (elapsed >= durationMs) {
        resolve();
        return;
      }
      const due = Math.floor((elapsed * rate) / 1000);
      while (sent < due) {
        const at = performance.now();
        if (at - started >= warmupMs) sampled++;
        clients[sent % clients.length]!.send(at);
        sent++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  // Let whatever is still queued arrive (it counts), so the next run starts from quiet.
  const drainBy = performance.now() + 60_000;
  while (performance.now() - lastDelivery < 1000 && performance.now() < drainBy) await sleep(100);
  samples.sort((a, b) => a - b);
  const pick = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return {
    p50: pick(0.5),
    p99: pick(0.99),
    delivered: samples.length,
    expected: sampled,
  };
}
