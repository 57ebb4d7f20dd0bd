// bench:relay — the delivery path of our server beside a minimal raw WebSocket relay, in one
// run, on 127.0.0.1. This process is the load generator, written against packages/api only
// (frames, routes, MLS encoders; keys from @ghostproof/crypto); both servers run as separate
// child processes (bench/relay-servers.ts): the baseline (forward, no storage) and our
// server as `ghostproof serve` runs it, in its default configuration (durable SQLite with
// synchronous=FULL and group commit; only the per-address registration and sign-in limits
// are raised, because all 10,000 simulated people come from one address).
//
// 1. Throughput: 1,000 clients, closed loop with a window of sends in flight per client,
//    200-byte payloads to random recipients (ours: a random one of the client's 1:1
//    conversations, as an MLS PrivateMessage of 200 bytes; sender waits for "accepted",
//    recipient acks). Rounds alternate raw and ours; medians.
// 2. Latency at 10,000 msg/s offered (open loop, 1,000 connections), send to delivery.
// 3. Memory: 10,000 idle authenticated connections, server RSS growth per connection.
// Writes bench/results/relay.json and prints a table.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { median, round, writeResults } from './stats.js';

const env = process.env;
const CLIENTS = Number(env.BENCH_CLIENTS ?? 1000);
const IDLE_CONNECTIONS = Number(env.BENCH_IDLE ?? 10_000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(env.BENCH_ROUND_MS ?? 3000);
const WINDOW = Number(env.BENCH_WINDOW ?? 4);
const GROUPS_PER_CLIENT = 3;
const PAYLOAD_BYTES = 200;
const LATENCY_RATE = Number(env.BENCH_LATENCY_RATE ?? 10_000);
const LATENCY_MS = Number(env.BENCH_LATENCY_MS ?? 8000);
const LATENCY_WARMUP_MS = 1000;
const LOW_RATE = Number(env.BENCH_LOW_RATE ?? 2000);
const ed = platformPrimitives.ed25519;
const root = new URL('../', import.meta.url).pathname;

// ---- child processes ---------------------------------------------------------------------

interface Child {
  readonly process: ChildProcess;
  readonly port: number;
}

/** Spawns `node args` with the open-files limit raised to the hard limit. */
async function spawnNode(args: string[], portFrom: (line: string) => number | undefined): Promise<Child> {
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', process.execPath, ...args],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const port = portFrom(line);
      if (port !== undefined) resolve(port);
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
  return { process: child, port };
}

/** CPU time (user + system) a process has used, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error('no VmRSS');
  return Number(kb[1]) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(
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

async function call<Req extends DescMessage, Res extends DescMessage>(
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

interface Account {
  readonly username: string;
  /** Devices 1..n; device 1 generates load, all of them hold an idle connection. */
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
 * signs every device in.
 */
async function createAccount(base: string, index: number, deviceCount: number): Promise<Account> {
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

type OnDelivery = (sender: number, sentAt: number) => void;

interface LoadClient {
  /** Sends one payload to a random recipient, stamped with the send time. */
  send(at: number): void;
  close(): void;
}

class RawClient implements LoadClient {
  private constructor(
    private readonly ws: WebSocket,
    private readonly index: number,
  ) {}

  static async connect(port: number, index: number, onDelivery: OnDelivery): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${index}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => {
      const { sender, at } = readStamp(data);
      onDelivery(sender, at);
    });
    return new RawClient(ws, index);
  }

  send(at: number): void {
    let to = Math.floor(Math.random() * (CLIENTS - 1));
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

class OursClient implements LoadClient {
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

// ---- measurements --------------------------------------------------------------------------

/**
 * Closed loop: every client keeps WINDOW messages in flight. Returns delivered msg/s and
 * the CPU time the server and this process spent per delivered message, in microseconds.
 */
async function throughputRound(
  clients: readonly LoadClient[],
  setHandler: (h: OnDelivery) => void,
  serverPid: number,
): Promise<{ rate: number; serverUs: number; generatorUs: number }> {
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
    for (let i = 0; i < WINDOW; i++) {
      outstanding++;
      c.send(0);
    }
  }
  // Measure after the first quarter, once every client is sending.
  await sleep(ROUND_MS / 4);
  const started = performance.now();
  const [startCount, serverCpu, ownCpu] = [delivered, cpuSeconds(serverPid), process.cpuUsage()];
  await sleep(ROUND_MS);
  const count = delivered - startCount;
  const elapsed = performance.now() - started;
  const serverUs = ((cpuSeconds(serverPid) - serverCpu) * 1e6) / count;
  const own = process.cpuUsage(ownCpu);
  active = false;
  const drainBy = Date.now() + 5000;
  while (outstanding > 0 && Date.now() < drainBy) await sleep(20);
  await sleep(200);
  return { rate: (count * 1000) / elapsed, serverUs, generatorUs: (own.user + own.system) / count };
}

/** Open loop at `rate` msg/s across all clients; send-to-delivery latency. */
async function latencyRun(
  clients: readonly LoadClient[],
  setHandler: (h: OnDelivery) => void,
  rate = LATENCY_RATE,
) {
  const samples: number[] = [];
  const started = performance.now();
  let lastDelivery = performance.now();
  setHandler((_sender, at) => {
    lastDelivery = performance.now();
    if (at - started >= LATENCY_WARMUP_MS) samples.push(performance.now() - at);
  });
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const elapsed = now - started;
      if (elapsed >= LATENCY_MS) {
        resolve();
        return;
      }
      const due = Math.floor((elapsed * rate) / 1000);
      while (sent < due) {
        clients[sent % clients.length]!.send(performance.now());
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
    expected: ((LATENCY_MS - LATENCY_WARMUP_MS) * rate) / 1000,
  };
}

// ---- the run -------------------------------------------------------------------------------

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-bench-relay-'));
  const stopAll = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  process.on('exit', stopAll);
  try {
    const portOf = (line: string) => (JSON.parse(line) as { port?: number }).port;
    const raw = await spawnNode(['--import', 'tsx', 'bench/relay-servers.ts', 'raw'], portOf);
    children.push(raw.process);
    const ours = await spawnNode(
      [
        ...(env.BENCH_SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
        '--expose-gc',
        '--import',
        'tsx',
        'bench/relay-servers.ts',
        'ghostproof',
        dataDir,
        // The default is full; BENCH_SQLITE_SYNCHRONOUS=normal measures the other setting.
        env.BENCH_SQLITE_SYNCHRONOUS ?? 'full',
      ],
      portOf,
    );
    children.push(ours.process);
    const base = `http://127.0.0.1:${ours.port}`;
    const devicesPerAccount = Math.ceil(IDLE_CONNECTIONS / CLIENTS);
    console.log(
      `raw relay on ${raw.port}, ghostproof on ${ours.port}; ${CLIENTS} accounts with ${devicesPerAccount} devices each…`,
    );
    let t = performance.now();
    const accounts: Account[] = new Array<Account>(CLIENTS);
    await inBatches([...accounts.keys()], 32, async (i) => {
      accounts[i] = await createAccount(base, i, devicesPerAccount);
    });
    console.log(
      `  registered ${CLIENTS} accounts, linked and signed in ${CLIENTS * devicesPerAccount} devices in ${round((performance.now() - t) / 1000, 1)} s`,
    );

    // 1. Memory of idle connections, on a server that has not carried load yet: RSS after a
    // full garbage collection, before and with IDLE_CONNECTIONS authenticated connections.
    const pid = ours.process.pid!;
    // Full collections (relay-servers.ts runs one on SIGUSR2) until RSS settles within 1 %.
    const gcAndMeasure = async () => {
      let previous = Infinity;
      for (let i = 0; i < 12; i++) {
        ours.process.kill('SIGUSR2');
        await sleep(1000);
        const rss = rssBytes(pid);
        if (Math.abs(rss - previous) < rss / 100) return rss;
        previous = rss;
      }
      return previous;
    };
    const idleTokens = accounts.flatMap((a) => a.tokens).slice(0, IDLE_CONNECTIONS);
    const before = await gcAndMeasure();
    const idle: WebSocket[] = [];
    t = performance.now();
    await inBatches(idleTokens, 200, async (token, i) => {
      const client = await OursClient.connect(ours.port, i, token, () => {});
      idle.push(client.ws);
    });
    console.log(`  opened ${idle.length} idle connections in ${round((performance.now() - t) / 1000, 1)} s`);
    const during = await gcAndMeasure();
    const perConnection = (during - before) / idle.length;
    console.log(
      `  server RSS ${round(before / 2 ** 20, 1)} MiB before, ${round(during / 2 ** 20, 1)} MiB with them: ${Math.round(perConnection)} bytes each`,
    );
    for (const ws of idle) ws.close();
    await sleep(3000);

    // Load clients on both servers, key packages, and 1:1 groups with random peers.
    t = performance.now();
    let rawHandler: OnDelivery = () => {};
    let oursHandler: OnDelivery = () => {};
    const rawClients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => RawClient.connect(raw.port, i, (s, a) => rawHandler(s, a))),
    );
    const oursClients: OursClient[] = new Array<OursClient>(CLIENTS);
    await inBatches([...oursClients.keys()], 100, async (i) => {
      oursClients[i] = await OursClient.connect(ours.port, i, accounts[i]!.tokens[0]!, (s, a) =>
        oursHandler(s, a),
      );
    });
    const refs: Uint8Array[][] = accounts.slice(0, CLIENTS).map(() => []);
    await inBatches([...oursClients.keys()], 32, async (i) => {
      const kps = await Promise.all(
        Array.from({ length: 2 * GROUPS_PER_CLIENT + 4 }, () => keyPackage(accounts[i]!)),
      );
      const last = await keyPackage(accounts[i]!);
      await call(
        base,
        routes.uploadKeyPackages,
        { oneTime: kps.map((k) => k.bytes), lastResort: last.bytes },
        accounts[i]!.tokens[0],
      );
      refs[i] = [...kps.map((k) => k.ref), last.ref];
    });
    await inBatches([...oursClients.keys()], 32, async (i) => {
      const client = oursClients[i]!;
      const peers = new Set<number>();
      while (peers.size < GROUPS_PER_CLIENT) {
        const p = Math.floor(Math.random() * CLIENTS);
        if (p !== i) peers.add(p);
      }
      for (const peer of peers) {
        const groupId = crypto.getRandomValues(new Uint8Array(16));
        await client.request({ case: 'createGroup', value: { groupId } });
        const claim = await call(
          base,
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
        oursClients[peer]!.conversations.push(messageTemplate(groupId));
      }
    });
    await sleep(1000);
    console.log(
      `  ${CLIENTS} clients on each server, ${CLIENTS * GROUPS_PER_CLIENT} groups, in ${round((performance.now() - t) / 1000, 1)} s`,
    );

    // 2. Throughput, alternating, after a warm-up of each.
    const setRaw = (h: OnDelivery) => (rawHandler = h);
    const setOurs = (h: OnDelivery) => (oursHandler = h);
    await throughputRound(rawClients, setRaw, raw.process.pid!);
    await throughputRound(oursClients, setOurs, ours.process.pid!);
    const rawRates: number[] = [];
    const oursRates: number[] = [];
    const rawCpu: number[] = [];
    const oursCpu: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const);
      for (const which of order) {
        const { rate, serverUs, generatorUs } =
          which === 'raw'
            ? await throughputRound(rawClients, setRaw, raw.process.pid!)
            : await throughputRound(oursClients, setOurs, ours.process.pid!);
        (which === 'raw' ? rawRates : oursRates).push(rate);
        (which === 'raw' ? rawCpu : oursCpu).push(serverUs);
        console.log(
          `  round ${r + 1} ${which.padEnd(4)} ${Math.round(rate).toLocaleString('en-US').padStart(7)} msg/s;` +
            ` CPU µs per message: server ${Math.round(serverUs)}, load generator ${Math.round(generatorUs)}`,
        );
      }
    }
    const errors = oursClients.reduce((n, c) => n + c.errors, 0);
    if (errors > 0) console.log(`  warning: ${errors} error responses from our server during the run`);

    // 3. Latency at 10k msg/s offered.
    // First at a rate our server sustains here, for context (not in the JSON).
    const oursLowLatency = await latencyRun(oursClients, setOurs, LOW_RATE);
    const rawLatency = await latencyRun(rawClients, setRaw);
    const oursLatency = await latencyRun(oursClients, setOurs);

    for (const c of [...rawClients, ...oursClients]) c.close();

    const rawRate = median(rawRates);
    const oursRate = median(oursRates);
    const results = {
      raw_msgs_per_s: Math.round(rawRate),
      ours_msgs_per_s: Math.round(oursRate),
      ratio_vs_raw: round(oursRate / rawRate, 3),
      latency_at_10k: {
        offered_msgs_per_s: LATENCY_RATE,
        connections: CLIENTS,
        p50_ms: round(oursLatency.p50, 2),
        p99_ms: round(oursLatency.p99, 2),
      },
      idle_connections: { count: idle.length, rss_bytes_per_connection: Math.round(perConnection) },
    };
    const file = writeResults('relay', results);
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log('');
    console.log('| measure                                   | raw relay | ghostproof | goal        |');
    console.log('| ----------------------------------------- | --------- | ---------- | ----------- |');
    console.log(
      `| msg/s, ${CLIENTS} clients, median of ${ROUNDS} rounds     | ${fmt(rawRate).padStart(9)} | ${fmt(oursRate).padStart(10)} | ratio ≥ 0.75 |`,
    );
    console.log(
      `| ratio vs raw                              |           | ${String(results.ratio_vs_raw).padStart(10)} |             |`,
    );
    console.log(
      `| server CPU µs per message (median)        | ${fmt(median(rawCpu)).padStart(9)} | ${fmt(median(oursCpu)).padStart(10)} |             |`,
    );
    console.log(
      `| p50 ms at 10k msg/s                       | ${round(rawLatency.p50, 2).toString().padStart(9)} | ${round(oursLatency.p50, 2).toString().padStart(10)} |             |`,
    );
    console.log(
      `| p99 ms at 10k msg/s                       | ${round(rawLatency.p99, 2).toString().padStart(9)} | ${round(oursLatency.p99, 2).toString().padStart(10)} | ≤ 5         |`,
    );
    console.log(
      `| delivered in latency run (of expected)    | ${rawLatency.delivered}/${rawLatency.expected} | ${oursLatency.delivered}/${oursLatency.expected} |             |`,
    );
    console.log(
      `| RSS bytes per idle connection (${IDLE_CONNECTIONS})    |           | ${fmt(perConnection).padStart(10)} | ≤ 15,000    |`,
    );
    console.log(
      `| p50 / p99 ms at ${LOW_RATE} msg/s (ours)         |           | ${round(oursLowLatency.p50, 2)} / ${round(oursLowLatency.p99, 2)} |             |`,
    );
    console.log(`\nwrote ${file}`);
  } finally {
    stopAll();
    await sleep(500);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
