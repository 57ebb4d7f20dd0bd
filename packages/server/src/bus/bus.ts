// Cross-node delivery: when a message is stored for a mailbox, the node holding that
// mailbox's live connection must learn of it. One interface, two adapters: in-process for a
// single node (local.ts) and NATS for several (nats.ts). A notification carries the stored
// entry, so a connected device gets it without a read from storage. The entry is durable
// before it is announced, so a missed notification costs only latency: a session reads its
// mailbox from storage on every (re)connect, whenever it fell behind or a notice came out of
// order, and when the bus tells it that notices may have been lost (`catchUp`: the NATS
// connection came back).
import type { DeliveryKind, MailboxKey } from '../storage/store.js';

export interface DeliveryNotice {
  readonly seq: number;
  readonly messageId: Uint8Array;
  readonly kind: DeliveryKind;
  readonly body: Uint8Array;
  readonly receivedAt: number;
  /** The encoded ServerFrame for this delivery: the same bytes for every recipient. */
  readonly frame: Uint8Array;
}

export interface MailboxListener {
  deliver(notice: DeliveryNotice): void;
  /** Notices for this mailbox may have been lost (the bus reconnected): read the mailbox. */
  catchUp(): void;
}

export interface DeliveryBus {
  /**
   * Whether a notice can be lost without any listener hearing of it: another node may die
   * after storing an entry and before announcing it. Live connections then read their
   * mailbox now and then, not only when told to.
   */
  readonly lossy: boolean;
  publish(mailbox: MailboxKey, notice: DeliveryNotice): void;
  /** Registers the live connection of a mailbox; returns the function that unregisters it. */
  subscribe(mailbox: MailboxKey, listener: MailboxListener): () => void;
  /** The live listener of a mailbox, if any (to replace an older connection). */
  listenerOf(mailbox: MailboxKey): MailboxListener | undefined;
}

export function mailboxKeyString(mailbox: MailboxKey): string {
  return `${mailbox.accountId}/${mailbox.deviceId}`;
}
