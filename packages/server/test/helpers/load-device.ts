// Devices that load a server over the raw WebSocket protocol and behave as the client SDK
// does where it matters for delivery guarantees: a send is retried with the same client id
// until the server answers "accepted" (across reconnects), every delivery is acknowledged,
// and a delivery whose message id was seen before is not shown again. Each device records
// what the server promised (accepted sends, acknowledgements it confirmed) and everything it
// received, per connection, so that auditDeliveries can say exactly what was lost, shown
// twice, or redelivered when it must not have been.
import { WebSocket } from 'ws';
import {
  ContentType,
  decodeServerFrame,
  DeliveryKind,
  encodeClientFrame,
  errorFromBody,
  routes,
  type ClientFrameSchema,
  type MessageInitShape,
  type Response as ApiResponse,
} from '@ghostproof/api';
import { call, privateMessage, randomId, TestAccount, welcomeFor, WsClient } from './harness.js';
import { toHex as hex } from '@ghostproof/testkit/hex';

type Result = ApiResponse['result'];
type FrameBody = NonNullable<MessageInitShape<typeof ClientFrameSchema>['body']>;

const MARKER = 'ghostproof-load-marker:';
/** The client id a load message carries in its body, to check what was delivered is what was sent. */
function markerOf(body: Uint8Array): string | undefined {
  const at = Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(MARKER);
  return at < 0
    ? undefined
    : Buffer.from(body.subarray(at + MARKER.length, at + MARKER.length + 32)).toString();
}

export interface Accepted {
  readonly messageId: string;
  readonly group: string;
}

export interface Received {
  /** Hex message id. */
  readonly id: string;
  /** Which of the device's connections (1, 2, …) it arrived on. */
  readonly connection: number;
  /** The client id found in the body. */
  readonly marker: string | undefined;
}

/** What one device knows at the end of a run. */
export interface DeviceRecord {
  readonly name: string;
  /** Hex group ids of the groups the device is in. */
  readonly groups: readonly string[];
  /** By hex client id: every send the server answered "accepted". */
  readonly accepted: ReadonlyMap<string, Accepted>;
  /** Every delivery of an application message, in order of arrival. */
  readonly received: readonly Received[];
  /** Message id → the connection on which the server answered "acked" for it. */
  readonly ackConfirmed: ReadonlyMap<string, number>;
}

interface Outgoing {
  readonly key: string;
  readonly clientId: Uint8Array;
  readonly groupId: Uint8Array;
  readonly body: Uint8Array;
}

export class LoadDevice implements DeviceRecord {
  readonly accepted = new Map<string, Accepted>();
  readonly received: Received[] = [];
  readonly ackConfirmed = new Map<string, number>();
  /** Sends answered as a resend of one stored earlier (its first answer was lost). */
  duplicateAnswers = 0;
  /** Authenticated connections so far. */
  connections = 0;
  private ws: WebSocket | undefined;
  private online = false;
  private stopped = false;
  private urlIndex = 0;
  private nextRequestId = 1;
  /** Answers are handled synchronously, so a delivery right behind one is seen after it. */
  private readonly waiting = new Map<number, (result: Result | undefined) => void>();
  private readonly outbox = new Map<string, Outgoing>();
  private readonly sending = new Set<string>();
  private toCreate = 0;
  private nextGroup = 0;
  private pendingAcks: Uint8Array[] = [];
  private acksInFlight = 0;
  private readonly seen = new Set<string>();
  /** Answers no real client expects (a send refused for a reason other than load). */
  readonly failures: string[] = [];

  constructor(
    readonly name: string,
    private readonly token: Uint8Array,
    /** Servers to try in order; on a refused connection the device moves to the next. */
    private readonly urls: readonly string[],
    private readonly groupIds: readonly Uint8Array[],
    private readonly window = 16,
  ) {}

  get groups(): string[] {
    return this.groupIds.map(hex);
  }

  /** Messages shown to the user: each message id once, whatever the server redelivered. */
  get shown(): number {
    return this.seen.size;
  }

  get idle(): boolean {
    return (
      this.toCreate === 0 && this.outbox.size === 0 && this.pendingAcks.length === 0 && !this.acksInFlight
    );
  }

  get url(): string {
    return this.urls[this.urlIndex]!;
  }

  start(): void {
    this.connect();
  }

  /** Queues `count` new messages, spread over the device's groups. */
  send(count: number): void {
    this.toCreate += count;
    this.fill();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(new URL('/v1/ws', this.url.replace(/^http/, 'ws')));
    this.ws = ws;
    ws.on('error', () => {});
    ws.on('open', () => {
      this.request({ case: 'authenticate', value: { sessionToken: this.token } }, (result) => {
        if (result?.case !== 'authenticated') {
          ws.terminate();
          return;
        }
        this.connections++;
        this.online = true;
        this.fill();
      });
    });
    ws.on('message', (data: Buffer) => this.onFrame(new Uint8Array(data)));
    ws.on('close', () => {
      const wasOnline = this.online;
      this.online = false;
      this.ws = undefined;
      for (const resolve of this.waiting.values()) resolve(undefined);
      this.waiting.clear();
      this.sending.clear();
      this.acksInFlight = 0;
      // Acknowledgements not confirmed are simply sent again when the entries come again.
      this.pendingAcks = [];
      if (!wasOnline) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      if (!this.stopped) setTimeout(() => this.connect(), 50);
    });
  }

  /** `onResult` gets the answer, or undefined when the connection went first. */
  private request(body: FrameBody, onResult: (result: Result | undefined) => void): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      queueMicrotask(() => onResult(undefined));
      return;
    }
    const requestId = this.nextRequestId++;
    this.waiting.set(requestId, onResult);
    ws.send(encodeClientFrame({ requestId, body }));
  }

  private onFrame(bytes: Uint8Array): void {
    const frame = decodeServerFrame(bytes);
    if (frame.body.case === 'response') {
      const { requestId, result } = frame.body.value;
      const resolve = this.waiting.get(requestId);
      this.waiting.delete(requestId);
      resolve?.(result);
      return;
    }
    if (frame.body.case !== 'delivery') return;
    const delivery = frame.body.value;
    if (delivery.kind === DeliveryKind.MESSAGE) {
      const id = hex(delivery.messageId);
      this.received.push({ id, connection: this.connections, marker: markerOf(delivery.message) });
      this.seen.add(id);
    }
    this.pendingAcks.push(delivery.messageId);
    if (this.pendingAcks.length === 1) setImmediate(() => this.flushAcks());
  }

  private flushAcks(): void {
    if (!this.online || this.pendingAcks.length === 0) return;
    const ids = this.pendingAcks.splice(0, 1000);
    const connection = this.connections;
    this.acksInFlight++;
    this.request({ case: 'ack', value: { messageIds: ids } }, (result) => {
      if (result === undefined) return; // the connection went; the close handler reset the count
      this.acksInFlight--;
      if (result.case === 'acked') for (const id of ids) this.ackConfirmed.set(hex(id), connection);
      else this.pendingAcks.push(...ids);
      if (this.pendingAcks.length > 0) setImmediate(() => this.flushAcks());
    });
  }

  /** Keeps `window` sends in flight: unanswered ones first (same client id), then new ones. */
  private fill(): void {
    if (!this.online) return;
    for (const message of this.outbox.values()) {
      if (this.sending.size >= this.window) return;
      if (!this.sending.has(message.key)) this.transmit(message);
    }
    while (this.sending.size < this.window && this.toCreate > 0) {
      this.toCreate--;
      const groupId = this.groupIds[this.nextGroup++ % this.groupIds.length]!;
      const clientId = randomId();
      const key = hex(clientId);
      const message = {
        key,
        clientId,
        groupId,
        body: privateMessage(groupId, 1n, ContentType.Application, { marker: MARKER + key }),
      };
      this.outbox.set(key, message);
      this.transmit(message);
    }
  }

  private transmit(message: Outgoing): void {
    this.sending.add(message.key);
    const body: FrameBody = {
      case: 'sendMessage',
      value: { clientId: message.clientId, message: message.body },
    };
    this.request(body, (result) => {
      if (result === undefined) return; // connection lost: resent after the next connect
      this.sending.delete(message.key);
      if (result.case === 'accepted') {
        this.outbox.delete(message.key);
        this.accepted.set(message.key, {
          messageId: hex(result.value.messageId),
          group: hex(message.groupId),
        });
        if (result.value.duplicate) this.duplicateAnswers++;
        this.fill();
        return;
      }
      const error = result.case === 'error' ? errorFromBody(result.value) : undefined;
      if (error?.code !== 'unavailable' && error?.code !== 'rate-limited') {
        this.outbox.delete(message.key);
        this.failures.push(`send answered ${error?.code ?? String(result.case)}`);
        return;
      }
      setTimeout(() => this.fill(), error.retryAfterMs ?? 20);
    });
  }
}

/** Resolves true once `done` holds (checked every `everyMs`), false after `timeoutMs`. */
export async function until(done: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}

export interface DeliveryAudit {
  /** Accepted sends, and the deliveries they owe (one per other member of the group). */
  readonly accepted: number;
  readonly owed: number;
  /** Owed deliveries never received. */
  readonly missing: number;
  /** Messages received that no accepted send owed this device. */
  readonly unexpected: number;
  /** Received with a body other than the one sent under that message id. */
  readonly wrongContent: number;
  /** Delivery frames in all, and how many repeated an id received on an earlier connection. */
  readonly frames: number;
  readonly redelivered: number;
  /** Must be 0: an id sent twice on one connection. */
  readonly twiceOnOneConnection: number;
  /** Must be 0: an id delivered again after the server confirmed its acknowledgement. */
  readonly redeliveredAfterAck: number;
  /** What a user sees: messages shown (after dedupe by id), and more than once if not deduped. */
  readonly shown: number;
  readonly shownTwiceWithoutDedupe: number;
}

/** Compares what every device received with what the server accepted and confirmed. */
export function auditDeliveries(devices: readonly DeviceRecord[]): DeliveryAudit {
  const sent = devices.flatMap((d) =>
    [...d.accepted].map(([clientId, a]) => ({ sender: d.name, clientId, ...a })),
  );
  let owed = 0;
  let missing = 0;
  let unexpected = 0;
  let wrongContent = 0;
  let frames = 0;
  let redelivered = 0;
  let twiceOnOneConnection = 0;
  let redeliveredAfterAck = 0;
  let shown = 0;
  let shownTwiceWithoutDedupe = 0;
  for (const device of devices) {
    const groups = new Set(device.groups);
    const expected = new Map(
      sent
        .filter((s) => s.sender !== device.name && groups.has(s.group))
        .map((s) => [s.messageId, s.clientId]),
    );
    owed += expected.size;
    const firstConnection = new Map<string, number>();
    const perConnection = new Set<string>();
    for (const r of device.received) {
      frames++;
      const onConnection = `${r.connection}/${r.id}`;
      if (perConnection.has(onConnection)) twiceOnOneConnection++;
      perConnection.add(onConnection);
      const confirmedOn = device.ackConfirmed.get(r.id);
      const first = firstConnection.get(r.id);
      if (first === undefined) {
        firstConnection.set(r.id, r.connection);
        shown++;
        if (!expected.has(r.id)) unexpected++;
        else if (expected.get(r.id) !== r.marker) wrongContent++;
        continue;
      }
      shownTwiceWithoutDedupe++;
      if (r.connection !== first) redelivered++;
      if (confirmedOn !== undefined && confirmedOn < r.connection) redeliveredAfterAck++;
    }
    for (const id of expected.keys()) if (!firstConnection.has(id)) missing++;
  }
  return {
    accepted: sent.length,
    owed,
    missing,
    unexpected,
    wrongContent,
    frames,
    redelivered,
    twiceOnOneConnection,
    redeliveredAfterAck,
    shown,
    shownTwiceWithoutDedupe,
  };
}

/**
 * Registered, signed-in devices in groups: `members[g]` lists the device indices of group g;
 * its first member created it and added the others by Welcome.
 */
export async function setUpGroups(
  url: string,
  devices: number,
  members: readonly (readonly number[])[],
): Promise<{ tokens: Uint8Array[]; groupsOf: Uint8Array[][] }> {
  const accounts = await Promise.all(
    Array.from({ length: devices }, async () => (await TestAccount.create(url)).register()),
  );
  const tokens = await Promise.all(accounts.map((a) => a.signIn()));
  const groupsOf: Uint8Array[][] = accounts.map(() => []);
  for (const group of members) {
    const [creator, ...others] = group as [number, ...number[]];
    const refs: Uint8Array[] = [];
    for (const i of others) {
      const kp = await accounts[i]!.keyPackage();
      await call(url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token: tokens[i]! });
      await call(
        url,
        routes.claimKeyPackages,
        { username: accounts[i]!.username },
        { token: tokens[creator]! },
      );
      refs.push(kp.ref);
    }
    const ws = await WsClient.connect(url, tokens[creator]!);
    const groupId = randomId();
    await ws.ok('routingList', { case: 'createGroup', value: { groupId } });
    await ws.ok('accepted', {
      case: 'sendCommit',
      value: {
        clientId: randomId(),
        commit: privateMessage(groupId, 0n, ContentType.Commit),
        welcome: welcomeFor(refs),
      },
    });
    await ws.close();
    for (const i of group) groupsOf[i]!.push(groupId);
  }
  return { tokens, groupsOf };
}

/** Deliveries owed so far: one per accepted send per other member of its group. */
export function owedDeliveries(devices: readonly DeviceRecord[]): number {
  const size = new Map<string, number>();
  for (const d of devices) for (const g of d.groups) size.set(g, (size.get(g) ?? 0) + 1);
  let owed = 0;
  for (const d of devices) for (const a of d.accepted.values()) owed += size.get(a.group)! - 1;
  return owed;
}
