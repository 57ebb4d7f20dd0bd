// WebSocket sessions on /v1/ws: a device authenticates with its session token in the first
// frame, then sends (messages, commits, group creation), reads routing lists, and receives
// its mailbox: everything stored for it at connect time, then live, within a window of
// unacknowledged deliveries. A frame over the size limit closes the connection (1009) before
// anything is stored; a frame that is malformed gets a typed error and the connection stays
// usable. One live connection per device: a new one replaces the old.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  ApiError,
  decodeClientFrame,
  encodeAcceptedFrame,
  encodeServerFrame,
  errorFrame,
  validateClientFrame,
  type ClientFrame,
  type MessageInitShape,
  type ResponseSchema,
} from '@ghostproof/api';
import type { DeliveryNotice, MailboxListener } from '../bus/bus.js';
import { describeError, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccountService, Session } from '../services/accounts.js';
import type { ServiceContext } from '../services/context.js';
import { deliveryFrame, type DeliveryService } from '../services/delivery.js';
import type { AcceptedSend, MailboxKey, RoutingList } from '../storage/store.js';

export const CloseCode = {
  goingAway: 1001,
  policy: 1008,
  replaced: 4000,
  deviceRemoved: 4403,
  unauthenticated: 4401,
  authTimeout: 4408,
} as const;

/** Requests one connection may have in progress; more are refused with 'rate-limited'. */
const MAX_REQUESTS_IN_PROGRESS = 128;
/** With a bus that can lose notices, a live connection reads its mailbox every this many pings. */
const CATCH_UP_EVERY_PINGS = 4;
/** After a failed mailbox read, the next try. */
const PUMP_RETRY_MS = 1000;
const PUMP_BATCH = 128;

export interface GatewayDeps {
  readonly ctx: ServiceContext;
  readonly accounts: AccountService;
  readonly delivery: DeliveryService;
  readonly metrics: Metrics;
  readonly log: Logger;
}

type ResponseResult = NonNullable<MessageInitShape<typeof ResponseSchema>['result']>;

type AcceptedValue = Parameters<typeof encodeAcceptedFrame>[1];

function accepted(a: AcceptedSend): { case: 'accepted'; value: AcceptedValue } {
  return {
    case: 'accepted',
    value: {
      messageId: a.messageId,
      epoch: a.epoch,
      duplicate: a.duplicate,
      acceptedAtMs: BigInt(a.acceptedAt),
    },
  };
}

function routingList(groupId: Uint8Array, list: RoutingList): ResponseResult {
  return {
    case: 'routingList',
    value: { groupId, epoch: list.epoch, members: list.members.map((m) => ({ ...m })) },
  };
}

class Connection implements MailboxListener {
  session: Session | undefined;
  private authenticating = false;
  private readonly authTimer: NodeJS.Timeout;
  private unsubscribe: (() => void) | undefined;
  /** Highest mailbox position sent on this connection: a notice above it was never sent here. */
  private cursor = 0;
  /**
   * Deliveries sent on this connection whose entries may still be stored (not acknowledged,
   * or acknowledged and not yet deleted), by hex message id, with their mailbox positions.
   * Mailbox reads leave these out; it is also the window, so it never holds more than
   * `deliveryWindow` entries.
   */
  private readonly unsettled = new Map<string, number>();
  /** Set while a mailbox read is in progress: acknowledgements settle after it returns. */
  private settleAfterRead: string[] | undefined;
  private pumping = false;
  /** Set when a delivery could not be sent live; the pump catches up from storage. */
  private behind = false;
  private pings = 0;
  private inProgress = 0;
  private corked = false;
  alive = true;

  constructor(
    private readonly ws: WebSocket,
    private readonly gateway: Gateway,
  ) {
    this.authTimer = setTimeout(
      () => this.close(CloseCode.authTimeout, 'authenticate first'),
      gateway.ctx.config.authTimeoutMs,
    );
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (error) => {
      // Oversized frames arrive here (ws closes with 1009); nothing was stored.
      gateway.log.debug({ event: 'ws-error', err: describeError(error) }, 'connection error');
    });
    ws.on('close', (code) => {
      gateway.log.debug({ event: 'ws-close', code }, 'connection closed');
      this.onClose();
    });
    gateway.log.debug({ event: 'ws-open' }, 'connection opened');
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    this.unsubscribe?.();
    this.gateway.connectionClosed(this);
  }

  /**
   * Frames sent during one turn of the event loop leave in one write: the socket is corked
   * at the first frame and uncorked at the end of the turn (ws corks each frame too; corks
   * nest). Under load a connection gets a response, a delivery and an ack answer per turn,
   * and one system call instead of three is most of the difference in CPU per message.
   */
  private send(bytes: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const socket = (this.ws as unknown as { _socket?: Duplex })._socket;
    if (socket && !this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    this.ws.send(bytes);
  }

  private respond(requestId: number, result: ResponseResult): void {
    this.send(
      result.case === 'accepted'
        ? encodeAcceptedFrame(requestId, result.value as AcceptedValue)
        : encodeServerFrame({ body: { case: 'response', value: { requestId, result } } }),
    );
  }

  private fail(requestId: number, error: unknown): void {
    let apiError: ApiError;
    if (ApiError.is(error)) apiError = error;
    else {
      this.gateway.log.error({ event: 'ws-internal-error', err: describeError(error) }, 'internal error');
      apiError = new ApiError('internal', 'internal error');
    }
    this.gateway.metrics.errors.inc({ code: apiError.code });
    this.send(errorFrame(requestId, apiError));
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    const { metrics, ctx } = this.gateway;
    let frame: ClientFrame;
    try {
      if (!isBinary) throw new ApiError('malformed', 'frame: expected a binary message');
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data);
      frame = decodeClientFrame(bytes, ctx.config.limits);
    } catch (error) {
      metrics.wsFrames.inc({ type: 'undecodable' });
      this.fail(0, error);
      return;
    }
    metrics.wsFrames.inc({ type: frame.body.case ?? 'unknown' });
    if (this.inProgress >= MAX_REQUESTS_IN_PROGRESS) {
      this.fail(
        frame.requestId,
        new ApiError('rate-limited', 'too many requests in progress', { retryAfterMs: 100 }),
      );
      return;
    }
    this.inProgress++;
    // Per-frame logging allocates; only when debugging.
    const debug = this.gateway.log.isLevelEnabled('debug');
    const type = frame.body.case ?? 'unknown';
    this.handle(frame)
      .then((result) => {
        if (result) this.respond(frame.requestId, result);
        if (debug) this.gateway.log.debug({ event: 'ws-frame', type, outcome: 'ok' }, 'frame');
      })
      .catch((error: unknown) => {
        this.fail(frame.requestId, error);
        if (debug) {
          const outcome = ApiError.is(error) ? error.code : 'internal';
          this.gateway.log.debug({ event: 'ws-frame', type, outcome }, 'frame');
        }
      })
      .finally(() => {
        this.inProgress--;
      });
  }

  private async handle(frame: ClientFrame): Promise<ResponseResult | undefined> {
    const { delivery } = this.gateway;
    validateClientFrame(frame, this.gateway.ctx.config.limits);
    const body = frame.body;
    if (body.case === 'authenticate') {
      await this.authenticate(frame.requestId, body.value.sessionToken);
      return undefined;
    }
    if (body.case === 'ping') return { case: 'pong', value: {} };
    const session = this.session;
    if (!session) throw new ApiError('unauthenticated', 'authenticate first');
    switch (body.case) {
      case 'createGroup':
        return routingList(body.value.groupId, await delivery.createGroup(session, body.value.groupId));
      case 'getRoutingList':
        return routingList(body.value.groupId, await delivery.routingList(session, body.value.groupId));
      case 'sendMessage':
        return accepted(await delivery.sendMessage(session, body.value.clientId, body.value.message));
      case 'sendCommit':
        return accepted(await delivery.sendCommit(session, body.value));
      case 'ack': {
        try {
          const count = await delivery.ack(session, body.value.messageIds);
          return { case: 'acked', value: { count } };
        } finally {
          // Deleted (or, if the write failed, still stored and free to be sent again).
          this.settle(body.value.messageIds.map((id) => Buffer.from(id).toString('hex')));
          if (this.behind) void this.pump();
        }
      }
      default:
        throw new ApiError('malformed', 'frame: unknown body');
    }
  }

  /** Checks the token, answers Authenticated, then sends everything waiting in the mailbox. */
  private async authenticate(requestId: number, token: Uint8Array): Promise<void> {
    if (this.session || this.authenticating) throw new ApiError('malformed', 'already authenticated');
    this.authenticating = true;
    let session: Session;
    try {
      session = await this.gateway.accounts.authenticate(token);
    } catch (error) {
      this.fail(requestId, error);
      this.close(CloseCode.unauthenticated, 'sign in again');
      return;
    } finally {
      this.authenticating = false;
    }
    if (this.ws.readyState !== this.ws.OPEN) return;
    clearTimeout(this.authTimer);
    this.session = session;
    this.gateway.attach(this, session);
    this.unsubscribe = this.gateway.ctx.bus.subscribe(session, this);
    this.respond(requestId, {
      case: 'authenticated',
      value: { mailbox: { username: session.username, deviceId: session.deviceId } },
    });
    void this.pump();
  }

  // ---- delivery ------------------------------------------------------------------------

  /** Sends a delivery unless this connection already did; returns whether it sent it. */
  private sendDelivery(seq: number, messageId: Uint8Array, frame: Uint8Array): boolean {
    const id = Buffer.from(messageId).toString('hex');
    if (this.unsettled.has(id)) return false;
    this.cursor = Math.max(this.cursor, seq);
    this.unsettled.set(id, seq);
    this.gateway.metrics.delivered.inc();
    this.send(frame);
    return true;
  }

  /** Acknowledged entries are gone from storage: reads need not leave them out any more. */
  private settle(ids: readonly string[]): void {
    // A read in progress may have started before the deletion: it must still leave them out.
    if (this.settleAfterRead) this.settleAfterRead.push(...ids);
    else for (const id of ids) this.unsettled.delete(id);
  }

  deliver(notice: DeliveryNotice): void {
    const window = this.gateway.ctx.config.deliveryWindow;
    if (notice.seq <= this.cursor) {
      // Either sent here already, or stored by another node's transaction that committed
      // after one with a higher position (or whose notice came late): only a read of the
      // mailbox can tell an entry acknowledged since from one never sent.
      if (this.unsettled.has(Buffer.from(notice.messageId).toString('hex'))) return;
    } else if (!this.pumping && !this.behind && this.unsettled.size < window) {
      this.sendDelivery(notice.seq, notice.messageId, notice.frame);
      return;
    }
    this.catchUp();
  }

  catchUp(): void {
    this.behind = true;
    if (!this.pumping && this.unsettled.size < this.gateway.ctx.config.deliveryWindow) void this.pump();
  }

  /**
   * Reads the mailbox from storage until it is drained or the window is full. It reads
   * everything stored that this connection has not sent, not what lies after the cursor:
   * with several nodes on one database, an entry can commit after one with a higher
   * position, and reading after the cursor would skip it until the device reconnects.
   */
  private async pump(): Promise<void> {
    if (this.pumping || !this.session) return;
    this.pumping = true;
    const window = this.gateway.ctx.config.deliveryWindow;
    try {
      for (;;) {
        if (this.ws.readyState !== this.ws.OPEN) return;
        const room = window - this.unsettled.size;
        if (room <= 0) {
          this.behind = true;
          return;
        }
        const limit = Math.min(room, PUMP_BATCH);
        this.behind = false;
        this.settleAfterRead = [];
        let batch;
        try {
          batch = await this.gateway.delivery.pending(this.session, limit, [...this.unsettled.values()]);
        } finally {
          const settled = this.settleAfterRead;
          this.settleAfterRead = undefined;
          this.settle(settled);
        }
        let sent = 0;
        for (const d of batch) if (this.sendDelivery(d.seq, d.messageId, deliveryFrame(d))) sent++;
        // A delivery noticed while reading sets `behind` again: read once more. (A read that
        // sent nothing new ends the loop too, rather than reading the same entries forever.)
        if ((batch.length < limit || sent === 0) && !this.behind) return;
      }
    } catch (error) {
      this.gateway.log.error({ event: 'ws-pump-failed', err: describeError(error) }, 'mailbox read failed');
      this.behind = true;
      // Storage was away: read again shortly rather than waiting for the next notice.
      setTimeout(() => {
        if (this.behind) this.catchUp();
      }, PUMP_RETRY_MS).unref();
    } finally {
      this.pumping = false;
    }
  }

  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
    // With several nodes, a node that died between storing an entry and announcing it leaves
    // the entry unannounced: read the mailbox every few pings, so it arrives in minutes at
    // worst, not at the next reconnect.
    if (this.gateway.ctx.bus.lossy && ++this.pings % CATCH_UP_EVERY_PINGS === 0) this.catchUp();
  }
}

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly byMailbox = new Map<string, Connection>();
  private readonly pinger: NodeJS.Timeout;
  readonly ctx: ServiceContext;
  readonly accounts: AccountService;
  readonly delivery: DeliveryService;
  readonly metrics: Metrics;
  readonly log: Logger;

  constructor(deps: GatewayDeps) {
    this.ctx = deps.ctx;
    this.accounts = deps.accounts;
    this.delivery = deps.delivery;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.ctx.config.limits.frameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.pinger = setInterval(() => {
      for (const c of this.connections) c.ping();
    }, deps.ctx.config.pingIntervalMs);
    this.pinger.unref();
  }

  get size(): number {
    return this.connections.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.connections.size >= this.ctx.config.maxConnections) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new Connection(ws, this);
      this.connections.add(connection);
      this.metrics.wsConnections.set(this.connections.size);
    });
  }

  /** Called once a connection authenticated: replaces an older connection of the device. */
  attach(connection: Connection, mailbox: MailboxKey): void {
    const key = `${mailbox.accountId}/${mailbox.deviceId}`;
    const previous = this.byMailbox.get(key);
    if (previous && previous !== connection)
      previous.close(CloseCode.replaced, 'replaced by a newer connection');
    this.byMailbox.set(key, connection);
  }

  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
    const session = connection.session;
    if (session) {
      const key = `${session.accountId}/${session.deviceId}`;
      if (this.byMailbox.get(key) === connection) this.byMailbox.delete(key);
    }
    this.metrics.wsConnections.set(this.connections.size);
  }

  /** Closes the connection of a device that was removed or whose account was deleted. */
  disconnect(mailbox: MailboxKey): void {
    this.byMailbox
      .get(`${mailbox.accountId}/${mailbox.deviceId}`)
      ?.close(CloseCode.deviceRemoved, 'device removed');
  }

  /** Closes every connection (shutdown) and waits for them to go. */
  async closeAll(timeoutMs: number): Promise<void> {
    clearInterval(this.pinger);
    for (const c of this.connections) c.close(CloseCode.goingAway, 'server shutting down');
    const deadline = Date.now() + timeoutMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.connections) c.terminate();
    this.wss.close();
  }
}
