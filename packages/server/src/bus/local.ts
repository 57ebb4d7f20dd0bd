// The in-process delivery bus: one node, a map from mailbox to its live connection.
import type { MailboxKey } from '../storage/store.js';
import { mailboxKeyString, type DeliveryBus, type DeliveryNotice, type MailboxListener } from './bus.js';

export class LocalBus implements DeliveryBus {
  /** In one process: a node that dies takes its connections with it. */
  readonly lossy = false;
  private readonly listeners = new Map<string, MailboxListener>();

  publish(mailbox: MailboxKey, notice: DeliveryNotice): void {
    this.listeners.get(mailboxKeyString(mailbox))?.deliver(notice);
  }

  subscribe(mailbox: MailboxKey, listener: MailboxListener): () => void {
    const key = mailboxKeyString(mailbox);
    this.listeners.set(key, listener);
    return () => {
      if (this.listeners.get(key) === listener) this.listeners.delete(key);
    };
  }

  listenerOf(mailbox: MailboxKey): MailboxListener | undefined {
    return this.listeners.get(mailboxKeyString(mailbox));
  }
}
