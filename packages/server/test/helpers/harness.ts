// Server tests' clients: the test kit's server and accounts, plus what only these tests need:
// a WebSocket session as a device holds it (WsClient), and MLS bytes built with the api
// package's encoders (the server never decrypts, so ciphertext can be random).
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import {
  ContentType,
  decodeServerFrame,
  encodeClientFrame,
  encodePrivateMessage,
  encodeWelcome,
  errorFromBody,
  routes,
  unsafeTestingEncodeClientFrame,
  type ApiError,
  type ClientFrameSchema,
  type ContentTypeId,
  type Delivery,
  type MessageInitShape,
  type Response as ApiResponse,
} from '@ghostproof/api';
import { call, TestAccount } from '@ghostproof/testkit';

export {
  call,
  eventually,
  expectHttpError,
  HttpError,
  relaxedRates,
  startTestServer as startServer,
  TestAccount,
  type TestServer as Harness,
} from '@ghostproof/testkit';

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
