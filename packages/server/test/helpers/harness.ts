// A real server on a random port with its logs captured, and real clients for it: HTTP
// through fetch, WebSocket through `ws`, devices with real Ed25519 keys, and MLS bytes built
// with the api package's encoders (the server never decrypts, so ciphertext can be random).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { platformPrimitives } from '@ghostproof/crypto';
import type { ApiError } from '@ghostproof/api';
import {
  ContentType,
  decodeResponse,
  decodeServerFrame,
  deviceListSignatureInput,
  encodeClientFrame,
  encodeDeviceList,
  encodeKeyPackage,
  encodePrivateMessage,
  encodeRequest,
  encodeSignedDeviceList,
  encodeWelcome,
  ErrorBodySchema,
  errorFromBody,
  keyPackageRef,
  parseKeyPackage,
  pathFor,
  PROTOBUF_CONTENT_TYPE,
  routes,
  signInSignatureInput,
  toBase64Url,
  unsafeTestingEncodeClientFrame,
  type ClientFrameSchema,
  type ContentTypeId,
  type DescMessage,
  type Delivery,
  type Device,
  type MessageInitShape,
  type MessageShape,
  type Response as ApiResponse,
  type Route,
} from '@ghostproof/api';
import {
  createRootLogger,
  createServer,
  type GhostproofServer,
  type ServerOptions,
} from '@ghostproof/server';

const ed = platformPrimitives.ed25519;

export interface Harness {
  server: GhostproofServer;
  url: string;
  dataDir: string;
  /** Every log line the server wrote. */
  logs: string[];
  options: Partial<ServerOptions>;
  /** Stops the server and starts a new one on the same data directory (and port). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Limits generous enough for tests that do not test limits. */
export const relaxedRates = {
  registrationsPerAddress: { limit: 10_000, windowMs: 60_000 },
  signInsPerAddress: { limit: 10_000, windowMs: 60_000 },
};

export async function startServer(options: Partial<ServerOptions> = {}, dataDir?: string): Promise<Harness> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ghostproof-test-'));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const make = async (port: number) => {
    const server = await createServer({
      dataDir: dir,
      port,
      rates: relaxedRates,
      log: createRootLogger({ level: 'debug', destination }),
      metrics: { defaultMetrics: false },
      ...options,
    });
    const { url } = await server.listen();
    return { server, url };
  };
  const first = await make(0);
  const harness: Harness = {
    server: first.server,
    url: first.url,
    dataDir: dir,
    logs,
    options,
    async restart() {
      await harness.server.close();
      const port = Number(new URL(harness.url).port);
      const next = await make(port);
      harness.server = next.server;
      harness.url = next.url;
    },
    async stop() {
      await harness.server.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiError,
  ) {
    super(`${status} ${error.code}: ${error.message}`);
  }
}

/** Calls a route with a protobuf body; returns the decoded response or throws HttpError. */
export async function call<Req extends DescMessage, Res extends DescMessage>(
  base: string,
  route: Route<Req | null, Res>,
  init: Req extends DescMessage ? MessageInitShape<Req> | undefined : undefined,
  options: { token?: Uint8Array; params?: Record<string, string> } = {},
): Promise<MessageShape<Res>> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${toBase64Url(options.token)}`;
  let body: Uint8Array<ArrayBuffer> | null = null;
  if (route.request) {
    body = new Uint8Array(
      encodeRequest(route as Route<Req, DescMessage | null>, (init ?? {}) as MessageInitShape<Req>),
    );
    headers['content-type'] = PROTOBUF_CONTENT_TYPE;
  }
  const res = await fetch(new URL(pathFor(route, options.params), base), {
    method: route.method,
    headers,
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new HttpError(res.status, errorFromBody(decodeResponse(ErrorBodySchema, bytes, 65536)));
  return decodeResponse(route.response, bytes, 64 * 1024 * 1024);
}

/** Awaits a promise that must fail with an HTTP error of `code`; returns it. */
export async function expectHttpError(promise: Promise<unknown>, code: string): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

let deviceCounter = 0;

/** An account with one or more devices, held by the test: keys, device list, sessions. */
export class TestAccount {
  readonly devices = new Map<number, { signatureKey: Uint8Array; secretKey: Uint8Array }>();
  sequence = 0n;
  addedAt = 1_700_000_000_000n;

  private constructor(
    readonly base: string,
    readonly username: string,
    readonly identity: { publicKey: Uint8Array; secretKey: Uint8Array },
  ) {}

  static async create(base: string, username?: string): Promise<TestAccount> {
    const name = username ?? `user-${process.pid}-${++deviceCounter}-${Math.floor(Math.random() * 1e6)}`;
    const account = new TestAccount(base, name, await ed.generate());
    const device = await ed.generate();
    account.devices.set(1, { signatureKey: device.publicKey, secretKey: device.secretKey });
    return account;
  }

  /** The signed device list for the current devices at `sequence`. */
  async signedList(sequence: bigint, identity = this.identity): Promise<Uint8Array> {
    const devices: Device[] = [...this.devices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, d]) => ({ id, signatureKey: d.signatureKey, addedAt: this.addedAt }));
    const list = encodeDeviceList({
      username: this.username,
      identityKey: this.identity.publicKey,
      sequence,
      issuedAt: BigInt(Date.now()),
      devices,
    });
    const signature = await ed.sign(identity.secretKey, deviceListSignatureInput(list));
    return encodeSignedDeviceList({ list, signature });
  }

  async register(inviteCode = ''): Promise<this> {
    await call(this.base, routes.register, { signedDeviceList: await this.signedList(1n), inviteCode });
    this.sequence = 1n;
    return this;
  }

  async addDevice(id: number): Promise<void> {
    const device = await ed.generate();
    this.devices.set(id, { signatureKey: device.publicKey, secretKey: device.secretKey });
  }

  /**
   * Adds device `id` and publishes the next device list with it (signed in as `token`'s
   * device); returns the new device's session token.
   */
  async linkDevice(id: number, token: Uint8Array): Promise<Uint8Array> {
    await this.addDevice(id);
    const sequence = this.sequence + 1n;
    await call(
      this.base,
      routes.updateDeviceList,
      { signedDeviceList: await this.signedList(sequence) },
      { token },
    );
    this.sequence = sequence;
    return this.signIn(id);
  }

  /** Signs in a device over HTTP; returns its session token. */
  /** Signs in; the challenge comes from this account's server, the answer goes to `answerAt`. */
  async signIn(deviceId = 1, origin?: string, answerAt = this.base): Promise<Uint8Array> {
    const device = this.devices.get(deviceId)!;
    const challenge = await call(this.base, routes.challenge, undefined);
    const clientNonce = crypto.getRandomValues(new Uint8Array(32));
    const signature = await ed.sign(
      device.secretKey,
      signInSignatureInput({
        origin: origin ?? new URL(this.base).origin,
        serverNonce: challenge.serverNonce,
        clientNonce,
        username: this.username,
        deviceId,
      }),
    );
    const res = await call(answerAt, routes.signIn, {
      username: this.username,
      deviceId,
      serverNonce: challenge.serverNonce,
      clientNonce,
      signature,
    });
    return res.sessionToken;
  }

  /** A KeyPackage (MLSMessage) of this device, correctly signed, with its reference. */
  async keyPackage(deviceId = 1, cipherSuite = 1): Promise<{ bytes: Uint8Array; ref: Uint8Array }> {
    const device = this.devices.get(deviceId)!;
    const now = BigInt(Math.floor(Date.now() / 1000));
    const bytes = await encodeKeyPackage(
      {
        cipherSuite,
        initKey: crypto.getRandomValues(new Uint8Array(32)),
        encryptionKey: crypto.getRandomValues(new Uint8Array(32)),
        signatureKey: device.signatureKey,
        identity: new TextEncoder().encode(`${this.username}/${deviceId}`),
        notBefore: now - 60n,
        notAfter: now + 90n * 86_400n,
      },
      (message) => ed.sign(device.secretKey, message),
    );
    const ref = await keyPackageRef(parseKeyPackage(bytes), (hash, data) =>
      platformPrimitives.digest(hash, data),
    );
    return { bytes, ref };
  }
}

/** Random "ciphertext" with an optional marker inside, as an MLS PrivateMessage. */
export function privateMessage(
  groupId: Uint8Array,
  epoch: bigint,
  contentType: ContentTypeId = ContentType.Application,
  options: { size?: number; marker?: string } = {},
): Uint8Array {
  const ciphertext = crypto.getRandomValues(new Uint8Array(options.size ?? 200));
  if (options.marker) ciphertext.set(new TextEncoder().encode(options.marker), 16);
  return encodePrivateMessage({
    groupId,
    epoch,
    contentType,
    encryptedSenderData: crypto.getRandomValues(new Uint8Array(32)),
    ciphertext,
  });
}

export function welcomeFor(refs: readonly Uint8Array[], cipherSuite = 1): Uint8Array {
  return encodeWelcome({
    cipherSuite,
    secrets: refs.map((keyPackageRef) => ({
      keyPackageRef,
      kemOutput: crypto.getRandomValues(new Uint8Array(32)),
      ciphertext: crypto.getRandomValues(new Uint8Array(64)),
    })),
    encryptedGroupInfo: crypto.getRandomValues(new Uint8Array(300)),
  });
}

export const randomId = (n = 16) => crypto.getRandomValues(new Uint8Array(n));

type Result = ApiResponse['result'];
type ResultOf<K> = Extract<Result, { case: K }> extends { value: infer V } ? V : never;
type FrameBody = NonNullable<MessageInitShape<typeof ClientFrameSchema>['body']>;

/** A WebSocket session as a device holds it. */
export class WsClient {
  readonly deliveries: Delivery[] = [];
  private readonly waiting = new Map<number, (result: Result) => void>();
  private deliveryWaiters: (() => void)[] = [];
  private nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Responses with request id 0 (frames the server could not read). */
  readonly unsolicited: Result[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = decodeServerFrame(new Uint8Array(data));
      if (frame.body.case === 'delivery') {
        this.deliveries.push(frame.body.value);
        const waiters = this.deliveryWaiters;
        this.deliveryWaiters = [];
        for (const w of waiters) w();
      } else if (frame.body.case === 'response') {
        const { requestId, result } = frame.body.value;
        const resolve = this.waiting.get(requestId);
        if (resolve) {
          this.waiting.delete(requestId);
          resolve(result);
        } else this.unsolicited.push(result);
      }
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  static async open(base: string): Promise<WsClient> {
    const ws = new WebSocket(new URL('/v1/ws', base.replace(/^http/, 'ws')), { rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }

  /** Opens and authenticates. */
  static async connect(base: string, token: Uint8Array): Promise<WsClient> {
    const client = await WsClient.open(base);
    const result = await client.request({ case: 'authenticate', value: { sessionToken: token } });
    if (result.case !== 'authenticated') throw new Error(`not authenticated: ${JSON.stringify(result.case)}`);
    return client;
  }

  /** Sends a request; `unchecked` skips the client-side checks, to test the server's. */
  request(body: FrameBody, unchecked = false): Promise<Result> {
    const requestId = this.nextId++;
    const promise = new Promise<Result>((resolve) => this.waiting.set(requestId, resolve));
    const init = { requestId, body };
    this.ws.send(unchecked ? unsafeTestingEncodeClientFrame(init) : encodeClientFrame(init));
    return promise;
  }

  /** Sends raw bytes; resolves with the next response the server could not attribute. */
  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** A request expected to succeed with `kind`; throws the ApiError otherwise. */
  async ok<K extends NonNullable<Result['case']>>(kind: K, body: FrameBody): Promise<ResultOf<K>> {
    const result = await this.request(body);
    if (result.case === 'error') throw errorFromBody(result.value);
    if (result.case !== kind) throw new Error(`expected ${kind}, got ${String(result.case)}`);
    return result.value as ResultOf<K>;
  }

  /** A request expected to fail with `code`. */
  async fails(code: string, body: FrameBody): Promise<ApiError> {
    const result = await this.request(body, true);
    assert.equal(result.case, 'error', `expected ${code}, got ${String(result.case)}`);
    const error = errorFromBody(result.value);
    assert.equal(error.code, code, error.message);
    return error;
  }

  async waitForDeliveries(count: number, timeoutMs = 5000): Promise<Delivery[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} deliveries, got ${this.deliveries.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.deliveryWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.deliveries.slice(0, count);
  }

  /** Waits a little and asserts no (further) delivery arrived. */
  async expectNoMoreDeliveries(count: number, ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(this.deliveries.length, count);
  }

  async ack(messageIds: Uint8Array[]): Promise<number> {
    return (await this.ok('acked', { case: 'ack', value: { messageIds } })).count;
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/**
 * Polls `probe` until it gives a value other than undefined or false, and resolves with it;
 * fails, naming `what`, after `ms`.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Two registered, signed-in accounts sharing a group: `a` (on the server at `base`) created it
 * and added `b` (on the server at `baseB`: another node of the same deployment, or the same)
 * by Welcome. `b` is not connected: its Welcome waits in its mailbox.
 */
export async function pairInGroup(base: string, baseB = base) {
  const a = await (await TestAccount.create(base)).register();
  const b = await (await TestAccount.create(baseB)).register();
  const tokenA = await a.signIn();
  const tokenB = await b.signIn();
  const kpB = await b.keyPackage();
  await call(baseB, routes.uploadKeyPackages, { oneTime: [kpB.bytes] }, { token: tokenB });
  await call(base, routes.claimKeyPackages, { username: b.username }, { token: tokenA });
  const wsA = await WsClient.connect(base, tokenA);
  const groupId = randomId();
  await wsA.ok('routingList', { case: 'createGroup', value: { groupId } });
  await wsA.ok('accepted', {
    case: 'sendCommit',
    value: {
      clientId: randomId(),
      commit: privateMessage(groupId, 0n, ContentType.Commit),
      welcome: welcomeFor([kpB.ref]),
    },
  });
  return { a, b, tokenA, tokenB, wsA, groupId, epoch: 1n };
}
