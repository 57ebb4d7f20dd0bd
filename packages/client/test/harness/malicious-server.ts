// A malicious server for attack tests: the real Ghostproof server (createServer, SQLite in a
// temporary directory) behind a proxy on 127.0.0.1 that the operator controls, plus the
// operator's direct access to the server's SQLite files and key transparency keys. What it
// tampers with is really what the server stores and sends:
//
// - every HTTP response and WebSocket frame passes through the proxy, decoded with
//   @ghostproof/api's route and frame codecs; rules may answer a request themselves, rewrite
//   or drop a frame, or inject one (a Delivery the server never stored);
// - `database` writes the server's own tables (accounts, devices, routing lists), as an
//   operator with shell access to the host would;
// - `logUpdate` appends to the real key transparency log, and `forkLog` builds a second log
//   operator holding the server's KT keys (from <dataDir>/kt-keys.json) with the honest
//   history up to a chosen size, so that one viewer can be shown a log of the attacker's
//   choosing (`serveLog`).
//
// Each person connects through an endpoint of their own (`endpoint(viewer)`, its own port):
// a server knows who is asking anyway (session tokens, addresses), and this keeps the rules
// simple: a rule sees the viewer it is answering.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import Database from 'better-sqlite3';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import {
  ApiError,
  apiErrorTable,
  decodeClientFrame,
  decodeServerFrame,
  DeliveryKind,
  encodeResponse,
  encodeServerFrame,
  ERROR_CODE_HEADER,
  ErrorBodySchema,
  KtCheckpointResponseSchema,
  KtKeysResponseSchema,
  KtProofResponseSchema,
  matchRoute,
  PROTOBUF_CONTENT_TYPE,
  readMlsMessageHeader,
  unsafeTestingEncodeClientFrame,
  type ClientFrame,
  type ClientFrameSchema,
  type DeviceList,
  type MessageInitShape,
  type ResponseSchema,
  type Route,
  type ServerFrame,
} from '@ghostproof/api';
import {
  formatNoteVerifierKey,
  KtError,
  KtLogOperator,
  MemoryKtStore,
  type KtEpochRecord,
  type KtUpdateRecord,
} from '@ghostproof/kt';
import { fastKeyTransparency, startTestServer, type TestServer } from '@ghostproof/testkit';
import { toHex as hex } from '@ghostproof/testkit/hex';

const MAX_FRAME = 64 * 1024 * 1024;
/** Injected deliveries carry ids the server could never have made (their sequence part is out of range). */
const INJECTED_PREFIX = Buffer.alloc(8, 0xff);

export interface Mailbox {
  readonly username: string;
  readonly deviceId: number;
}

/** What a rule sees about one WebSocket connection. */
export interface ConnectionInfo {
  readonly viewer: string;
  /** The device this connection authenticated as (once the server said so). */
  readonly mailbox: Mailbox | undefined;
}

type ResponseResult = NonNullable<MessageInitShape<typeof ResponseSchema>['result']>;
type ClientBody = NonNullable<MessageInitShape<typeof ClientFrameSchema>['body']>;

/** A server frame on its way to a client: drop it, replace it, or let it pass (undefined). */
export type ServerFrameRule = (frame: ServerFrame, on: ConnectionInfo) => 'drop' | ServerFrame | undefined;

/**
 * A client frame on its way to the server: drop it, answer it in the server's name (the
 * server never sees it), replace it, or let it pass (undefined).
 */
export type ClientFrameRule = (
  frame: ClientFrame,
  on: ConnectionInfo,
) => 'drop' | { readonly answer: ResponseResult } | ClientFrame | undefined;

export interface HttpRequestInfo {
  readonly viewer: string;
  readonly route: Route;
  readonly params: Record<string, string>;
}

/** An HTTP answer in the server's name: a protobuf body (200) or an API error. */
export type HttpAnswer = { readonly body: Uint8Array } | { readonly error: ApiError };

/** Answers an HTTP request instead of the server, or lets it through (undefined). */
export type HttpRule = (request: HttpRequestInfo) => Promise<HttpAnswer | undefined> | HttpAnswer | undefined;

/** A message the proxy saw travel, in either direction. */
export interface Observed {
  readonly viewer: string;
  readonly mailbox: Mailbox | undefined;
  readonly direction: 'to-server' | 'to-client';
  /** `send` (SendMessage), `commit` (SendCommit), or a delivery kind. */
  readonly kind: 'send' | 'commit' | 'message' | 'welcome' | 'delivered-commit';
  /** Hex group id, for MLS PrivateMessages. */
  readonly groupId: string | undefined;
  readonly epoch: bigint | undefined;
  readonly bytes: Uint8Array;
  /** For deliveries: the server's message id. */
  readonly messageId?: Uint8Array;
  readonly injected: boolean;
}

class ProxiedConnection implements ConnectionInfo {
  mailbox: Mailbox | undefined;
  private readonly upstream: WebSocket;
  private readonly early: RawData[] = [];
  /** Ids of deliveries this proxy injected: their acks never reach the server. */
  private readonly injectedIds = new Set<string>();
  /** Requests the harness made in this device's name, by request id. */
  private readonly ownRequests = new Map<number, (result: ServerFrame) => void>();
  private nextOwnRequest = 0x7ff00000;

  constructor(
    readonly viewer: string,
    private readonly client: WebSocket,
    upstreamUrl: string,
    private readonly proxy: MaliciousServer,
  ) {
    this.upstream = new WebSocket(upstreamUrl, { maxPayload: MAX_FRAME });
    this.upstream.on('open', () => {
      for (const data of this.early.splice(0)) this.fromClient(data);
    });
    this.upstream.on('message', (data: RawData) => this.fromServer(data));
    this.upstream.on('close', (code) => this.closeClient(code));
    this.upstream.on('error', () => this.closeClient(1011));
    client.on('message', (data: RawData) => {
      if (this.upstream.readyState === WebSocket.OPEN) this.fromClient(data);
      else this.early.push(data);
    });
    client.on('close', () => this.upstream.close());
    client.on('error', () => this.upstream.close());
  }

  get open(): boolean {
    return this.client.readyState === WebSocket.OPEN;
  }

  private closeClient(code: number): void {
    const valid = code >= 1000 && code <= 4999 && code !== 1005 && code !== 1006;
    if (this.client.readyState === WebSocket.OPEN) this.client.close(valid ? code : 1011);
  }

  /** Closes the client's side: its Messenger reconnects (through this proxy) with backoff. */
  drop(): void {
    this.client.terminate();
    this.upstream.terminate();
  }

  private fromClient(data: RawData): void {
    const bytes = toBytes(data);
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(bytes, { frameBytes: MAX_FRAME });
    } catch {
      this.upstream.send(bytes); // Not ours to judge: the server answers it.
      return;
    }
    this.proxy.observeClientFrame(frame, this);
    if (frame.body.case === 'ack') {
      const ids = frame.body.value.messageIds;
      const real = ids.filter((id) => !this.injectedIds.has(hex(id)));
      if (real.length === 0) {
        this.answer(frame.requestId, { case: 'acked', value: { count: ids.length } });
        return;
      }
      if (real.length !== ids.length) {
        frame = { ...frame, body: { case: 'ack', value: { ...frame.body.value, messageIds: real } } };
        this.upstream.send(unsafeTestingEncodeClientFrame(frame));
        return;
      }
    }
    let outgoing: ClientFrame | undefined = frame;
    for (const rule of this.proxy.clientRules) {
      const verdict = rule(outgoing, this);
      if (verdict === undefined) continue;
      if (verdict === 'drop') return;
      if ('answer' in verdict) {
        this.answer(frame.requestId, verdict.answer);
        return;
      }
      outgoing = verdict;
    }
    this.upstream.send(outgoing === frame ? bytes : unsafeTestingEncodeClientFrame(outgoing));
  }

  private answer(requestId: number, result: ResponseResult): void {
    this.sendToClient(encodeServerFrame({ body: { case: 'response', value: { requestId, result } } }));
  }

  private fromServer(data: RawData): void {
    const bytes = toBytes(data);
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(bytes, MAX_FRAME);
    } catch {
      this.sendToClient(bytes);
      return;
    }
    if (frame.body.case === 'response' && frame.body.value.result.case === 'authenticated') {
      const mailbox = frame.body.value.result.value.mailbox;
      if (mailbox) this.mailbox = { username: mailbox.username, deviceId: mailbox.deviceId };
    }
    let outgoing: ServerFrame = frame;
    for (const rule of this.proxy.serverRules) {
      const verdict = rule(outgoing, this);
      if (verdict === undefined) continue;
      if (verdict === 'drop') return;
      outgoing = verdict;
    }
    if (outgoing.body.case === 'response') {
      const own = this.ownRequests.get(outgoing.body.value.requestId);
      if (own) {
        this.ownRequests.delete(outgoing.body.value.requestId);
        own(outgoing);
        return;
      }
    }
    this.proxy.observeServerFrame(outgoing, this, false);
    this.sendToClient(outgoing === frame ? bytes : encodeServerFrame(outgoing));
  }

  /**
   * Sends a request in this device's name on its session and returns the answer as this
   * device would get it (after the rules), without the device seeing it.
   */
  request(body: ClientBody): Promise<ServerFrame> {
    const requestId = this.nextOwnRequest++;
    return new Promise((resolve) => {
      this.ownRequests.set(requestId, resolve);
      this.upstream.send(unsafeTestingEncodeClientFrame({ requestId, body }));
    });
  }

  /** Sends a Delivery the server never stored, with an id the server could never have made. */
  inject(kind: DeliveryKind, message: Uint8Array): Uint8Array {
    const messageId = new Uint8Array(Buffer.concat([INJECTED_PREFIX, randomBytes(8)]));
    this.injectedIds.add(hex(messageId));
    const frame = decodeServerFrame(
      encodeServerFrame({
        body: {
          case: 'delivery',
          value: { messageId, kind, message, receivedAtMs: BigInt(Date.now()) },
        },
      }),
    );
    this.proxy.observeServerFrame(frame, this, true);
    this.sendToClient(encodeServerFrame(frame));
    return messageId;
  }

  private sendToClient(bytes: Uint8Array): void {
    if (this.client.readyState === WebSocket.OPEN) this.client.send(bytes);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (Buffer.isBuffer(data)) return new Uint8Array(data);
  return new Uint8Array(data);
}

function mlsHeader(bytes: Uint8Array): { groupId: string; epoch: bigint } | undefined {
  try {
    const header = readMlsMessageHeader(bytes, { maxBytes: MAX_FRAME });
    return 'groupId' in header ? { groupId: hex(header.groupId), epoch: header.epoch } : undefined;
  } catch {
    return undefined;
  }
}

/** The server's own SQLite database, opened beside the server (WAL: both see every commit). */
export class ServerDatabase {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('busy_timeout = 2000');
  }

  accountId(username: string): number {
    const row = this.db.prepare('SELECT id FROM accounts WHERE username = ?').get(username) as
      { id: number } | undefined;
    if (!row) throw new Error(`no account ${username}`);
    return row.id;
  }

  /** What GET /v1/accounts/{username}/devices serves from now on. */
  setDeviceList(username: string, signed: Uint8Array, list: DeviceList): void {
    const maxId = Math.max(...list.devices.map((d) => d.id));
    this.db
      .prepare(
        'UPDATE accounts SET device_list = ?, sequence = ?, max_device_id = MAX(max_device_id, ?) WHERE username = ?',
      )
      .run(Buffer.from(signed), Number(list.sequence), maxId, username);
  }

  /** A device the server lets sign in, upload key packages and receive mail for the account. */
  addDevice(username: string, deviceId: number, signatureKey: Uint8Array): void {
    this.db
      .prepare('INSERT OR REPLACE INTO devices (account_id, device_id, signature_key) VALUES (?, ?, ?)')
      .run(this.accountId(username), deviceId, Buffer.from(signatureKey));
  }

  removeDevice(username: string, deviceId: number): void {
    this.db
      .prepare('DELETE FROM devices WHERE account_id = ? AND device_id = ?')
      .run(this.accountId(username), deviceId);
  }

  /** Adds a mailbox to a conversation's routing list: the server delivers its messages there too. */
  addRoutingEntry(groupId: string, mailbox: Mailbox): void {
    this.db
      .prepare('INSERT OR IGNORE INTO group_members (group_id, account_id, device_id) VALUES (?, ?, ?)')
      .run(Buffer.from(groupId, 'hex'), this.accountId(mailbox.username), mailbox.deviceId);
  }

  close(): void {
    this.db.close();
  }
}

/** Answers the key transparency routes from a log operator of the attacker's choosing. */
export async function answerFromLog(
  operator: KtLogOperator,
  request: HttpRequestInfo,
): Promise<HttpAnswer | undefined> {
  const { route, params } = request;
  try {
    switch (route.name) {
      case 'ktKeys': {
        const keys = operator.publicKeys;
        return {
          body: encodeResponse(KtKeysResponseSchema, {
            origin: keys.origin,
            logKey: formatNoteVerifierKey(keys.logKey),
            vrfPublicKey: keys.vrfPublicKey,
          }),
        };
      }
      case 'ktCheckpoint':
        return { body: encodeResponse(KtCheckpointResponseSchema, { note: operator.checkpoint }) };
      case 'ktLookup':
        return proofAnswer(await operator.proveLookup(decodeURIComponent(params.username!)));
      case 'ktMonitor':
        return proofAnswer(
          await operator.proveMonitor(decodeURIComponent(params.username!), Number(params.from)),
        );
      case 'ktConsistency':
        return proofAnswer(operator.proveConsistency(Number(params.from), Number(params.to)));
      case 'ktAudit':
        return proofAnswer(await operator.proveAudit(Number(params.from), Number(params.to)));
      default:
        return undefined;
    }
  } catch (error) {
    // The same answers the real server gives (packages/server/src/http/handler.ts).
    if (KtError.is(error, 'not-found'))
      return { error: new ApiError('not-found', 'key transparency: nothing to prove') };
    if (KtError.is(error))
      return { error: new ApiError('malformed', 'key transparency: request out of range') };
    throw error;
  }
}

function proofAnswer(proof: Uint8Array): HttpAnswer {
  return { body: encodeResponse(KtProofResponseSchema, { proof }) };
}

export class MaliciousServer {
  readonly serverRules: ServerFrameRule[] = [];
  readonly clientRules: ClientFrameRule[] = [];
  readonly httpRules: HttpRule[] = [];
  /** Everything the proxy saw travel, in order. */
  readonly observed: Observed[] = [];
  private readonly endpoints = new Map<string, { url: string; server: Server }>();
  private readonly connections = new Set<ProxiedConnection>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME,
    perMessageDeflate: false,
  });
  readonly database: ServerDatabase;

  private constructor(readonly real: TestServer) {
    this.database = new ServerDatabase(join(real.dataDir, 'ghostproof.sqlite'));
  }

  static async start(): Promise<MaliciousServer> {
    return new MaliciousServer(await startTestServer({ kt: fastKeyTransparency }));
  }

  /** The real server's own URL: for the attacker's own devices, which need no proxy. */
  get serverUrl(): string {
    return this.real.url;
  }

  /** A URL through the proxy for one viewer; every request on it is tagged with that viewer. */
  async endpoint(viewer: string): Promise<string> {
    const existing = this.endpoints.get(viewer);
    if (existing) return existing.url;
    const server = createHttpServer((req, res) => {
      this.forwardHttp(viewer, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.wss.handleUpgrade(req, socket, head, (client) => {
        const upstream = new URL(req.url ?? '/', this.real.url);
        upstream.protocol = 'ws:';
        this.connections.add(new ProxiedConnection(viewer, client, upstream.toString(), this));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.endpoints.set(viewer, { url, server });
    return url;
  }

  private async forwardHttp(viewer: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '/';
    const matched = matchRoute(req.method ?? 'GET', path.split('?')[0]!);
    if (matched) {
      for (const rule of this.httpRules) {
        const answer = await rule({ viewer, route: matched.route, params: matched.params });
        if (answer === undefined) continue;
        if ('body' in answer) {
          res.writeHead(200, { 'content-type': PROTOBUF_CONTENT_TYPE }).end(answer.body);
        } else {
          res
            .writeHead(apiErrorTable[answer.error.code].status, {
              'content-type': PROTOBUF_CONTENT_TYPE,
              [ERROR_CODE_HEADER]: answer.error.code,
            })
            .end(
              encodeResponse(ErrorBodySchema, {
                code: answer.error.code,
                message: answer.error.message,
                retryAfterMs: 0n,
              }),
            );
        }
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'ghostproof-capability']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const upstream = await fetch(new URL(path, this.real.url), {
      method: req.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    const out: Record<string, string> = {};
    for (const name of ['content-type', ERROR_CODE_HEADER, 'content-length']) {
      const value = upstream.headers.get(name);
      if (value !== null) out[name] = value;
    }
    res.writeHead(upstream.status, out).end(Buffer.from(await upstream.arrayBuffer()));
  }

  // --- rules and injection --------------------------------------------------------------

  /** Adds a rule; returns the function that removes it. */
  onServerFrame(rule: ServerFrameRule): () => void {
    return remover(this.serverRules, rule);
  }

  onClientFrame(rule: ClientFrameRule): () => void {
    return remover(this.clientRules, rule);
  }

  onHttp(rule: HttpRule): () => void {
    return remover(this.httpRules, rule);
  }

  /** Serves one viewer's key transparency routes from another log. */
  serveLog(viewer: string, operator: KtLogOperator): () => void {
    return this.onHttp((request) =>
      request.viewer === viewer ? answerFromLog(operator, request) : undefined,
    );
  }

  private connectionOf(viewer: string): ProxiedConnection | undefined {
    return [...this.connections].reverse().find((c) => c.viewer === viewer && c.open && c.mailbox);
  }

  /** Sends a viewer a Delivery the server never stored. Returns its (fresh) delivery id. */
  async inject(viewer: string, kind: DeliveryKind, message: Uint8Array): Promise<Uint8Array> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const connection = this.connectionOf(viewer);
      if (connection) return connection.inject(kind, message);
      if (Date.now() > deadline) throw new Error(`${viewer} is not connected`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** What the server answers a viewer's device to `body` (after the rules), unseen by it. */
  async requestAs(viewer: string, body: ClientBody): Promise<ServerFrame> {
    const connection = this.connectionOf(viewer);
    if (!connection) throw new Error(`${viewer} is not connected`);
    return connection.request(body);
  }

  /** Cuts a viewer's WebSocket: its Messenger reconnects and the server sends its mailbox again. */
  disconnect(viewer: string): void {
    for (const c of this.connections) if (c.viewer === viewer) c.drop();
  }

  observeClientFrame(frame: ClientFrame, on: ConnectionInfo): void {
    const body = frame.body;
    if (body.case === 'sendMessage') this.record(on, 'to-server', 'send', body.value.message, false);
    if (body.case === 'sendCommit') this.record(on, 'to-server', 'commit', body.value.commit, false);
  }

  observeServerFrame(frame: ServerFrame, on: ConnectionInfo, injected: boolean): void {
    if (frame.body.case !== 'delivery') return;
    const d = frame.body.value;
    const kind =
      d.kind === DeliveryKind.WELCOME
        ? 'welcome'
        : d.kind === DeliveryKind.COMMIT
          ? 'delivered-commit'
          : 'message';
    this.record(on, 'to-client', kind, d.message, injected, d.messageId);
  }

  private record(
    on: ConnectionInfo,
    direction: Observed['direction'],
    kind: Observed['kind'],
    bytes: Uint8Array,
    injected: boolean,
    messageId?: Uint8Array,
  ): void {
    const header = mlsHeader(bytes);
    this.observed.push({
      viewer: on.viewer,
      mailbox: on.mailbox,
      direction,
      kind,
      groupId: header?.groupId,
      epoch: header?.epoch,
      bytes: bytes.slice(),
      ...(messageId ? { messageId: messageId.slice() } : {}),
      injected,
    });
  }

  // --- key transparency -----------------------------------------------------------------

  /** Appends a version to the real log (as the operator can) and publishes an epoch. */
  async logUpdate(username: string, signed: Uint8Array, version: bigint): Promise<void> {
    const kt = this.real.server.kt!;
    await kt.append({ username, version, signedDeviceList: signed, at: Date.now() });
    await kt.publish();
  }

  /** Publishes an epoch of the real log now, with or without pending updates. */
  async publishEpoch(): Promise<void> {
    await this.real.server.kt!.publish();
  }

  /** The real log's size (its newest checkpoint's tree size). */
  get logSize(): number {
    return this.real.server.kt!.operator.size;
  }

  /**
   * A log operator with the server's KT keys and the real log's first `size` epochs (all of
   * them by default): from here on it is the attacker's to extend, a fork of the real log.
   */
  async forkLog(size = this.logSize): Promise<KtLogOperator> {
    const keys = JSON.parse(readFileSync(join(this.real.dataDir, 'kt-keys.json'), 'utf8')) as {
      signingKey: string;
      vrfSecretKey: string;
    };
    const db = new Database(join(this.real.dataDir, 'kt.sqlite'));
    const store = new MemoryKtStore();
    try {
      const epochs = db.prepare('SELECT * FROM kt_epochs WHERE epoch < ? ORDER BY epoch').all(size) as {
        epoch: number;
        timestamp_ms: number;
        prefix_root: Buffer;
        update_count: number;
        checkpoint: string;
        delta: Buffer;
      }[];
      const updatesOf = db.prepare(
        'SELECT label, version, nonce, value, head FROM kt_updates WHERE epoch = ? ORDER BY seq',
      );
      for (const row of epochs) {
        const updates = (
          updatesOf.all(row.epoch) as {
            label: Buffer;
            version: number;
            nonce: Buffer;
            value: Buffer;
            head: Buffer;
          }[]
        ).map((u): KtUpdateRecord => ({
          label: new Uint8Array(u.label),
          version: u.version,
          nonce: new Uint8Array(u.nonce),
          value: new Uint8Array(u.value),
          head: new Uint8Array(u.head),
        }));
        const record: KtEpochRecord = {
          entry: {
            epoch: row.epoch,
            timestampMs: row.timestamp_ms,
            prefixRoot: new Uint8Array(row.prefix_root),
            updateCount: row.update_count,
          },
          checkpoint: row.checkpoint,
          delta: new Uint8Array(row.delta),
        };
        for (const u of updates) await store.addPending(u);
        await store.commitEpoch(record, updates);
      }
    } finally {
      db.close();
    }
    return KtLogOperator.open({
      store,
      origin: this.real.server.kt!.publicKeys.origin,
      signingKey: new Uint8Array(Buffer.from(keys.signingKey, 'base64')),
      vrfSecretKey: new Uint8Array(Buffer.from(keys.vrfSecretKey, 'base64')),
    });
  }

  // --- what travelled ---------------------------------------------------------------------

  /** Observed MLS messages of one conversation, optionally only those of one kind or viewer. */
  messagesOf(
    groupId: string,
    filter: Partial<Pick<Observed, 'kind' | 'viewer' | 'direction'>> = {},
  ): Observed[] {
    return this.observed.filter(
      (o) =>
        o.groupId === groupId &&
        (filter.kind === undefined || o.kind === filter.kind) &&
        (filter.viewer === undefined || o.viewer === filter.viewer) &&
        (filter.direction === undefined || o.direction === filter.direction),
    );
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.drop();
    for (const { server } of this.endpoints.values()) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.wss.close();
    this.database.close();
    await this.real.stop();
  }
}

function remover<T>(list: T[], item: T): () => void {
  list.push(item);
  return () => {
    const index = list.indexOf(item);
    if (index >= 0) list.splice(index, 1);
  };
}
