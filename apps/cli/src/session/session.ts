// A command's time online: open the account's Messenger, connect, let the server hand over
// what waited in the mailbox and process it (settle), do the work, then wait until the outbox
// is empty and every delivery is processed before closing. The server does not say when a
// mailbox is drained, so "settled" means: connected, no frame for a short quiet period, and
// nothing left in the delivery queue. The socket is wrapped to see when frames arrive.
import { decodeClientFrame, decodeServerFrame } from '@ghostproof/api';
import { Messenger, type StoredIdentity, type WebSocketLike } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import type { ClientSettings, TestKillPoint } from '../config/client.js';
import { CliError } from '../cli/errors.js';
import { describeAlarm } from '../ui/format.js';
import type { Output } from '../ui/output.js';
import { shortId } from './names.js';
import { Profile } from './profile.js';

const CONNECT_TIMEOUT_MS = 20_000;
const QUIET_MS = 400;
/** After the work, how long without frames counts as done. */
const SETTLE_MS = 150;
const DRAIN_TIMEOUT_MS = 30_000;
const SETTLE_TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Watches frames on the SDK's socket: when the last one passed, which requests await an
 * answer (a commit the SDK started on its own, say), and the test kill points.
 */
class FrameWatch {
  lastFrameAt = Date.now();
  private readonly unanswered = new Set<number>();
  private armed: TestKillPoint | undefined;
  private sentArmed = false;

  constructor(private readonly killAt: TestKillPoint | undefined) {}

  /** Requests sent on the socket and not answered yet. */
  get inFlight(): number {
    return this.unanswered.size;
  }

  /** Tests only: from now on, die at the configured point of the next message send. */
  arm(): void {
    this.armed = this.killAt;
  }

  private die(): never {
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  }

  outgoing(bytes: Uint8Array): void {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = decodeClientFrame(bytes);
    } catch {
      return;
    }
    this.unanswered.add(frame.requestId);
    if (!this.armed || frame.body.case !== 'sendMessage') return;
    if (this.armed === 'before-send') this.die();
    this.sentArmed = true;
  }

  incoming(data: unknown): void {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = decodeServerFrame(data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array));
    } catch {
      return; // Not ours to judge; the SDK drops it.
    }
    if (frame.body.case !== 'response') return;
    this.unanswered.delete(frame.body.value.requestId);
    if (this.armed === 'after-accepted' && this.sentArmed && frame.body.value.result.case === 'accepted') {
      this.die();
    }
  }

  /** A closed socket answers nothing more. */
  closed(): void {
    this.unanswered.clear();
  }

  socket(url: string): WebSocketLike {
    return new WatchedSocket(nodeWebSocket(url), this);
  }
}

/** The SDK's socket with the frame watch in the path of every frame. */
class WatchedSocket implements WebSocketLike {
  private handler: WebSocketLike['onmessage'] = null;

  constructor(
    private readonly inner: WebSocketLike,
    private readonly watch: FrameWatch,
  ) {}

  get binaryType(): string {
    return this.inner.binaryType;
  }
  set binaryType(value: string) {
    this.inner.binaryType = value;
  }
  get readyState(): number {
    return this.inner.readyState;
  }
  get onopen(): WebSocketLike['onopen'] {
    return this.inner.onopen;
  }
  set onopen(handler: WebSocketLike['onopen']) {
    this.inner.onopen = handler;
  }
  get onclose(): WebSocketLike['onclose'] {
    return this.inner.onclose;
  }
  set onclose(handler: WebSocketLike['onclose']) {
    this.inner.onclose = handler
      ? (ev) => {
          this.watch.closed();
          handler(ev);
        }
      : null;
  }
  get onerror(): WebSocketLike['onerror'] {
    return this.inner.onerror;
  }
  set onerror(handler: WebSocketLike['onerror']) {
    this.inner.onerror = handler;
  }
  get onmessage(): WebSocketLike['onmessage'] {
    return this.handler;
  }
  set onmessage(handler: WebSocketLike['onmessage']) {
    this.handler = handler;
    this.inner.onmessage = handler
      ? (ev) => {
          this.watch.incoming(ev.data);
          handler(ev);
        }
      : null;
  }

  send(data: Uint8Array): void {
    this.watch.outgoing(data);
    this.inner.send(data);
  }

  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }
}

/** Counts HTTP requests in flight, so that closing waits for (say) a key-package upload. */
class FetchWatch {
  inFlight = 0;

  readonly fetch: typeof fetch = async (input, init) => {
    this.inFlight++;
    try {
      return await fetch(input, init);
    } finally {
      this.inFlight--;
    }
  };

  async quiet(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await sleep(25);
  }
}

/** Is the server there at all? A quick answer beats a reconnect loop that never succeeds. */
async function checkReachable(serverUrl: string): Promise<void> {
  try {
    const response = await fetch(new URL('/health', serverUrl), { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`status ${response.status}`);
  } catch {
    throw new CliError(`cannot reach the Ghostproof server at ${serverUrl}: is it running? (--server URL)`);
  }
}

export class Session {
  private constructor(
    readonly profile: Profile,
    readonly identity: StoredIdentity,
    readonly messenger: Messenger,
    private readonly watch: FrameWatch,
    private readonly http: FetchWatch,
  ) {}

  /** Opens the profile's account without connecting (for commands that only use HTTP or the store). */
  static async open(
    settings: ClientSettings,
    out: Output,
    options: { lock?: boolean } = {},
  ): Promise<Session> {
    const profile = Profile.open(settings, options);
    try {
      const identity = await profile.identity(settings);
      const watch = new FrameWatch(settings.unsafeTestKillAt);
      const http = new FetchWatch();
      const messenger = await Messenger.open({
        serverUrl: identity.serverUrl,
        store: profile.store,
        createSocket: (url) => watch.socket(url),
        fetch: http.fetch,
      });
      // Alarms are shown by every command, whatever it was doing.
      messenger.on('alarm', (alarm) => {
        void messenger.listConversations().then(
          (all) => {
            const id = 'conversationId' in alarm ? alarm.conversationId : '';
            const where = id ? ` in conversation ${shortId(id, all)}` : '';
            out.note(`ALARM${where}: ${describeAlarm(alarm)}`);
          },
          () => out.note(`ALARM: ${describeAlarm(alarm)}`),
        );
      });
      // Not alarms, but what the person should know: messages delayed or never arrived.
      messenger.on('missing-message', ({ conversationId, sender, count }) => {
        void messenger.listConversations().then(
          (all) =>
            out.note(
              `NOTE in conversation ${shortId(conversationId, all)}: ${count === 1 ? 'a message' : `${count} messages`} from ${sender.username} never arrived (the server may be holding ${count === 1 ? 'it' : 'them'} back)`,
            ),
          () => undefined,
        );
      });
      messenger.on('delivery-delayed', () => {
        out.note(
          'NOTE: messages are delayed: a change in a conversation waits until its keys can be checked (the server is unreachable or busy); still trying',
        );
      });
      messenger.on('identity-changed', ({ username }) => {
        out.note(
          `WARNING: ${username}'s identity key changed. Compare safety numbers again: ghostproof verify ${username}`,
        );
      });
      // Disappearing messages whose time has come go before anything else happens.
      await profile.store.deleteExpiredMessages(Date.now());
      return new Session(profile, identity, messenger, watch, http);
    } catch (error) {
      await profile.close();
      throw error;
    }
  }

  /** Opens, connects, and processes what waited in the mailbox. */
  static async online(
    settings: ClientSettings,
    out: Output,
    prepare?: (session: Session) => void,
  ): Promise<Session> {
    const session = await Session.open(settings, out);
    try {
      prepare?.(session);
      await session.connect();
      await session.settle();
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  get serverUrl(): string {
    return this.identity.serverUrl;
  }

  async connect(): Promise<void> {
    await checkReachable(this.serverUrl);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CliError(`could not sign in to ${this.serverUrl} within 20 s`)),
        CONNECT_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([this.messenger.connect(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits until no frame passed for a quiet period, no request awaits an answer, and every delivery is processed. */
  async settle(quietMs = QUIET_MS): Promise<void> {
    // A request the server never answers times out in the SDK; do not wait for it forever.
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      await this.messenger.idle();
      const quietFor = Date.now() - this.watch.lastFrameAt;
      const answered = this.watch.inFlight === 0 || Date.now() > deadline;
      if (quietFor >= quietMs && answered) {
        await this.messenger.idle();
        if (Date.now() - this.watch.lastFrameAt >= quietMs) return;
      }
      await sleep(Math.max(20, quietMs - quietFor));
    }
  }

  /** Tests only (GHOSTPROOF_UNSAFE_TEST_KILL_AT): the next message send dies at the set point. */
  armTestKill(): void {
    this.watch.arm();
  }

  /**
   * Waits until the outbox is empty, deliveries are processed and requests answered. Throws
   * if the server could not take everything in time; what is left stays in the outbox for the
   * next command.
   */
  async drain(timeoutMs = DRAIN_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.messenger.idle();
      const pending = await this.messenger.pendingOutbox();
      // Work the SDK started by itself (a commit after a member left, say) is let finish: no
      // request unanswered, and a moment without frames in which it could have started one.
      const busy = this.watch.inFlight > 0 || Date.now() - this.watch.lastFrameAt < SETTLE_MS;
      if (pending === 0 && (!busy || Date.now() > deadline)) return;
      if (Date.now() > deadline) {
        throw new CliError(
          `${pending} message(s) could not be sent yet; they are kept and go out with the next ghostproof command`,
        );
      }
      await this.messenger.flushOutbox().catch(() => undefined);
      await sleep(100);
    }
  }

  /** Drains, then closes the connection and the profile. */
  async finish(): Promise<void> {
    try {
      await this.drain();
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    try {
      await this.http.quiet(10_000);
      await this.messenger.close();
    } finally {
      await this.profile.close();
    }
  }
}

/** Runs `work` online and always closes; the usual shape of a network command. */
export async function withOnlineSession<T>(
  settings: ClientSettings,
  out: Output,
  work: (session: Session) => Promise<T>,
  /** Runs before connecting: the place to subscribe to events of the mailbox backlog. */
  prepare?: (session: Session) => void,
): Promise<T> {
  const session = await Session.online(settings, out, prepare);
  let result: T;
  try {
    result = await work(session);
  } catch (error) {
    await session.close().catch(() => undefined);
    throw error;
  }
  await session.finish();
  return result;
}

/** Runs `work` with the account opened but not connected (HTTP calls and the store only). */
export async function withOfflineSession<T>(
  settings: ClientSettings,
  out: Output,
  work: (session: Session) => Promise<T>,
  options: { lock?: boolean } = {},
): Promise<T> {
  const session = await Session.open(settings, out, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
