// The authenticated WebSocket session: request/response correlation, deliveries, and
// reconnection with exponential backoff and jitter. Requests made while offline wait for the
// next connection; what must survive a restart (outgoing messages) lives in the outbox.
// Its timers (backoff, request timeouts) are real time on purpose: the messenger's injected
// clock decides what a person sees, not how long a socket waits.
import {
  ApiError,
  decodeServerFrame,
  encodeClientFrame,
  errorFromBody,
  WEBSOCKET_PATH,
  type ClientFrame,
  type Delivery,
  type MessageInitShape,
  type ClientFrameSchema,
  type Response as ApiResponse,
} from '@ghostproof/api';
import { ClientError } from './errors.js';
import { createLogger, errorFields, type Logger } from './logger.js';

export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;
export type ConnectionState = 'connecting' | 'online' | 'offline' | 'closed';
type RequestBody = MessageInitShape<typeof ClientFrameSchema>['body'];

export interface ConnectionOptions {
  readonly baseUrl: string;
  readonly createSocket: WebSocketFactory;
  /** A valid session token; called again after an authentication failure. */
  readonly sessionToken: (refresh: boolean) => Promise<Uint8Array>;
  readonly onDelivery: (delivery: Delivery) => void;
  readonly onState?: (state: ConnectionState) => void;
  readonly requestTimeoutMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Where failed connection attempts are logged (default: the package's default sink). */
  readonly logger?: Logger;
}

const OPEN = 1;

export class Connection {
  private socket: WebSocketLike | undefined;
  private state: ConnectionState = 'offline';
  private nextRequestId = 1;
  private readonly waiting = new Map<
    number,
    {
      resolve: (r: ApiResponse['result']) => void;
      reject: (e: unknown) => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();
  private onlineWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private backoff: number;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshToken = false;

  private readonly log: Logger;

  constructor(private readonly options: ConnectionOptions) {
    this.log = options.logger ?? createLogger('client:connection');
    this.backoff = options.minBackoffMs ?? 250;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  start(): void {
    if (this.state === 'closed' || this.socket) return;
    this.connect();
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState?.(state);
    if (state === 'online') {
      for (const w of this.onlineWaiters.splice(0)) w.resolve();
    }
  }

  private connect(): void {
    if (this.state === 'closed') return;
    this.setState('connecting');
    const url = new URL(WEBSOCKET_PATH, this.options.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket: WebSocketLike;
    try {
      socket = this.options.createSocket(url.toString());
    } catch (error) {
      // Handled: tried again after the backoff, like a socket that closed.
      this.log.info('socket-not-created', errorFields(error));
      this.scheduleReconnect();
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      void this.authenticate(socket);
    };
    socket.onmessage = (ev) => this.onFrame(ev.data);
    socket.onerror = () => {
      /* onclose follows */
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failWaiting(new ClientError('offline', 'connection lost'));
      if (this.state !== 'closed') {
        this.setState('offline');
        this.scheduleReconnect();
      }
    };
  }

  private async authenticate(socket: WebSocketLike): Promise<void> {
    try {
      const token = await this.options.sessionToken(this.refreshToken);
      this.refreshToken = false;
      const result = await this.send(socket, { case: 'authenticate', value: { sessionToken: token } });
      if (result.case !== 'authenticated')
        throw new ApiError('internal', 'unexpected answer to authenticate');
      this.backoff = this.options.minBackoffMs ?? 250;
      this.setState('online');
    } catch (err) {
      // Handled: closing the socket starts the next attempt (with a fresh token if refused).
      this.log.info('authentication-failed', errorFields(err));
      if (ApiError.is(err, 'unauthenticated')) this.refreshToken = true;
      socket.close();
    }
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed' || this.reconnectTimer) return;
    const delay = this.backoff * (0.5 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 30_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  private failWaiting(error: unknown): void {
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(error);
      this.waiting.delete(id);
    }
  }

  private onFrame(data: unknown): void {
    let frame;
    try {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
      frame = decodeServerFrame(bytes);
    } catch (error) {
      // A frame we cannot read is dropped; the request it answers times out.
      this.log.warn('unreadable-frame', errorFields(error));
      return;
    }
    if (frame.body.case === 'delivery') {
      this.options.onDelivery(frame.body.value);
      return;
    }
    if (frame.body.case !== 'response') return;
    const response = frame.body.value;
    const w = this.waiting.get(response.requestId);
    if (!w) return;
    this.waiting.delete(response.requestId);
    clearTimeout(w.timer);
    if (response.result.case === 'error') w.reject(errorFromBody(response.result.value));
    else w.resolve(response.result);
  }

  private send(socket: WebSocketLike, body: RequestBody): Promise<ApiResponse['result']> {
    const requestId = this.nextRequestId++;
    if (this.nextRequestId > 0x7fffffff) this.nextRequestId = 1;
    const frame: MessageInitShape<typeof ClientFrameSchema> = { requestId, body } as ClientFrame;
    const bytes = encodeClientFrame(frame);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new ClientError('offline', 'request timed out'));
      }, this.options.requestTimeoutMs ?? 30_000);
      this.waiting.set(requestId, { resolve, reject, timer });
      try {
        if (socket.readyState !== OPEN) throw new ClientError('offline', 'not connected');
        socket.send(bytes);
      } catch (err) {
        clearTimeout(timer);
        this.waiting.delete(requestId);
        reject(err instanceof ClientError ? err : new ClientError('offline', 'send failed', { cause: err }));
      }
    });
  }

  /** Resolves once online (or rejects when closed). */
  waitOnline(): Promise<void> {
    if (this.state === 'online') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new ClientError('closed', 'connection closed'));
    return new Promise((resolve, reject) => this.onlineWaiters.push({ resolve, reject }));
  }

  /** Sends one request when online and returns its result; server errors reject as ApiError. */
  async request(body: RequestBody): Promise<ApiResponse['result']> {
    await this.waitOnline();
    if (!this.socket) throw new ClientError('offline', 'not connected');
    return this.send(this.socket, body);
  }

  close(): void {
    this.setState('closed');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.failWaiting(new ClientError('closed', 'connection closed'));
    for (const w of this.onlineWaiters.splice(0)) w.reject(new ClientError('closed', 'connection closed'));
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
  }
}
