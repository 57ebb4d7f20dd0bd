// Cross-node delivery over NATS (core NATS, no JetStream): a node subscribes to the subject
// of each mailbox that has a live connection on it, and a node that stores an entry for a
// mailbox not connected locally publishes the notice on that mailbox's subject. Nothing is
// persisted in NATS: the entry is already durable in storage, so a notice lost while NATS
// is down or reconnecting costs only latency: when this node's NATS connection comes back,
// every live connection on it reads its mailbox (notices published meanwhile by other nodes
// never reached it; this node's own publishes are buffered by the client and sent then).
// The subject names a mailbox by internal ids only; the payload is the stored ciphertext
// and the delivery frame, as on the wire to the device.
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { MailboxKey } from '../storage/store.js';
import type { DeliveryKind } from '../storage/store.js';
import { mailboxKeyString, type DeliveryBus, type DeliveryNotice, type MailboxListener } from './bus.js';

export interface NatsBusOptions {
  /** nats://host:port, or several separated by commas. */
  readonly servers: string;
  /** Subject prefix: nodes of one deployment share it; tests use a fresh one. */
  readonly subjectPrefix?: string;
  /** Called when a notice from another node cannot be decoded (a bug or a foreign publisher). */
  readonly onBadNotice?: () => void;
}

const FORMAT_VERSION = 1;
/** After a reconnect, the connections' mailbox reads are spread over this long. */
const RECONNECT_SPREAD_MS = 1000;
const kindCodes: Record<DeliveryKind, number> = { message: 1, commit: 2, welcome: 3 };
const kindNames: Record<number, DeliveryKind> = { 1: 'message', 2: 'commit', 3: 'welcome' };

/** version(1) seq(8) receivedAt(8) kind(1) idLength(1) id bodyLength(4) body frame */
export function encodeNotice(notice: DeliveryNotice): Uint8Array {
  const size = 1 + 8 + 8 + 1 + 1 + notice.messageId.length + 4 + notice.body.length + notice.frame.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint8(at, FORMAT_VERSION);
  view.setBigUint64((at += 1), BigInt(notice.seq));
  view.setBigUint64((at += 8), BigInt(notice.receivedAt));
  view.setUint8((at += 8), kindCodes[notice.kind]);
  view.setUint8((at += 1), notice.messageId.length);
  out.set(notice.messageId, (at += 1));
  view.setUint32((at += notice.messageId.length), notice.body.length);
  out.set(notice.body, (at += 4));
  out.set(notice.frame, at + notice.body.length);
  return out;
}

/** The notice, or undefined for bytes that are not one. */
export function decodeNotice(bytes: Uint8Array): DeliveryNotice | undefined {
  if (bytes.length < 23 || bytes[0] !== FORMAT_VERSION) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = Number(view.getBigUint64(1));
  const receivedAt = Number(view.getBigUint64(9));
  const kind = kindNames[view.getUint8(17)];
  const idLength = view.getUint8(18);
  if (!kind || bytes.length < 19 + idLength + 4) return undefined;
  // Copies, as plain Uint8Arrays (NATS hands out Buffers over a shared pool).
  const copy = (from: number, to?: number) => new Uint8Array(bytes.subarray(from, to));
  const messageId = copy(19, 19 + idLength);
  const bodyLength = view.getUint32(19 + idLength);
  const bodyAt = 23 + idLength;
  if (bytes.length < bodyAt + bodyLength) return undefined;
  return {
    seq,
    receivedAt,
    kind,
    messageId,
    body: copy(bodyAt, bodyAt + bodyLength),
    frame: copy(bodyAt + bodyLength),
  };
}

export class NatsBus implements DeliveryBus {
  readonly lossy = true;
  private readonly listeners = new Map<string, { listener: MailboxListener; subscription: Subscription }>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly onBadNotice: (() => void) | undefined,
  ) {}

  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const prefix = options.subjectPrefix ?? 'ghostproof';
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
      throw new TypeError('subjectPrefix: NATS subject tokens (letters, digits, _ and -)');
    }
    const nc = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      name: 'ghostproof-server',
      // Keep trying for as long as the node runs: the bus comes back by itself.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const bus = new NatsBus(nc, prefix, options.onBadNotice);
    void bus.watchReconnects();
    return bus;
  }

  /** On every reconnect, every live connection here reads what it may have missed. */
  private async watchReconnects(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'reconnect') continue;
      // Spread over a second, so that every connection does not read its mailbox at once.
      for (const { listener } of this.listeners.values()) {
        setTimeout(() => listener.catchUp(), Math.random() * RECONNECT_SPREAD_MS).unref();
      }
    }
  }

  private subject(mailbox: MailboxKey): string {
    return `${this.prefix}.mailbox.${mailbox.accountId}.${mailbox.deviceId}`;
  }

  publish(mailbox: MailboxKey, notice: DeliveryNotice): void {
    const local = this.listeners.get(mailboxKeyString(mailbox));
    if (local) {
      local.listener.deliver(notice);
      return;
    }
    try {
      this.nc.publish(this.subject(mailbox), encodeNotice(notice));
    } catch {
      // Closed or draining: the entry is in storage and reaches the device on its next read.
    }
  }

  subscribe(mailbox: MailboxKey, listener: MailboxListener): () => void {
    const key = mailboxKeyString(mailbox);
    this.listeners.get(key)?.subscription.unsubscribe();
    const subscription = this.nc.subscribe(this.subject(mailbox), {
      callback: (error, msg) => {
        if (error) return;
        const notice = decodeNotice(msg.data);
        if (notice) listener.deliver(notice);
        else this.onBadNotice?.();
      },
    });
    const entry = { listener, subscription };
    this.listeners.set(key, entry);
    return () => {
      if (this.listeners.get(key) !== entry) return;
      this.listeners.delete(key);
      subscription.unsubscribe();
    };
  }

  listenerOf(mailbox: MailboxKey): MailboxListener | undefined {
    return this.listeners.get(mailboxKeyString(mailbox))?.listener;
  }

  /** Resolves once the subscriptions are registered with the NATS server. */
  async flush(): Promise<void> {
    await this.nc.flush();
  }

  /** Sends what is pending and closes the connection. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain();
  }
}
