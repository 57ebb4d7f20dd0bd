// The durable outbox: every encrypted message is stored before it is sent, sent again after a
// restart or reconnect under the same client id (the server stores it once), and removed only
// once the server accepted or refused it for good.
import { fromHex, randomBytes, toHex } from './bytes.js';
import { isRetryable, retryDelayMs, type MessengerContext } from './context.js';
import { ClientError } from './errors.js';
import { errorFields, type Logger } from './logger.js';
import type { OutboxEntry } from './store.js';

export class Outbox {
  private flushing: Promise<void> | undefined;
  private flushQueued: Promise<void> | undefined;
  private cancelRetry: (() => void) | undefined;
  private readonly log: Logger;

  constructor(private readonly context: MessengerContext) {
    this.log = context.logger('client:outbox');
  }

  /**
   * Stores an encrypted message for sending and, when online, sends the outbox now.
   * @throws a store failure; ApiError/ClientError only as `flush` (never offline).
   */
  async enqueue(groupId: string, message: Uint8Array, messageId?: string): Promise<void> {
    const entry: OutboxEntry = {
      clientId: toHex(randomBytes(16)),
      groupId,
      message,
      ...(messageId ? { messageId } : {}),
      createdAt: this.context.clock.now(),
    };
    await this.context.store.putOutbox(entry);
    if (this.context.online()) await this.flush();
  }

  /**
   * Sends every outbox entry, oldest first; each is removed only once the server accepted it
   * (or refused it for good). Offline or not connected: the rest waits for reconnection.
   * Rate limited or unavailable: retried later by itself.
   * @throws only a store failure.
   */
  async flush(): Promise<void> {
    if (this.flushing) {
      // The running pass listed the outbox before the caller's entry was added: one more
      // pass after it (shared by everyone who asks meanwhile). The running pass's own failure
      // is reported to its own caller, not here.
      this.flushQueued ??= this.flushing
        .catch(() => undefined)
        .then(() => {
          this.flushQueued = undefined;
          return this.flush();
        });
      return this.flushQueued;
    }
    this.flushing = this.sendAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** How many messages wait in the outbox. @throws only a store failure. */
  async pending(): Promise<number> {
    return (await this.context.store.listOutbox()).length;
  }

  /** Stops the retry timer (at close). Never throws. */
  stop(): void {
    this.cancelRetry?.();
    this.cancelRetry = undefined;
  }

  private async sendAll(): Promise<void> {
    const { store } = this.context;
    for (const entry of await store.listOutbox()) {
      try {
        await this.context.connection().request({
          case: 'sendMessage',
          value: { clientId: fromHex(entry.clientId), message: entry.message },
        });
      } catch (err) {
        // Offline, the connection closed, or never connected (`usage`: connect() not called
        // yet): the rest waits for the next connection, which flushes again.
        if (ClientError.is(err, 'offline') || ClientError.is(err, 'closed') || ClientError.is(err, 'usage'))
          return;
        if (isRetryable(err)) {
          // Rate-limited or briefly unavailable: keep it (and the rest, in order) for later.
          this.retryLater(err.retryAfterMs);
          return;
        }
        // The server refused it for good (e.g. removed from the group): drop it.
        this.log.warn('outbox-entry-refused', errorFields(err));
        await store.deleteOutbox(entry.clientId);
        continue;
      }
      await store.deleteOutbox(entry.clientId);
      if (entry.messageId) {
        const stored = await store.getMessage(entry.groupId, entry.messageId);
        if (stored?.state === 'sending') await store.putMessage({ ...stored, state: 'sent' });
      }
    }
  }

  private retryLater(afterMs: number | undefined): void {
    if (this.cancelRetry) return;
    this.cancelRetry = this.context.clock.later(retryDelayMs(afterMs), () => {
      this.cancelRetry = undefined;
      if (this.context.online())
        void this.flush().catch((error: unknown) => this.log.warn('outbox-retry-failed', errorFields(error)));
    });
  }
}
