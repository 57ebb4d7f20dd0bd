// What a Messenger tells its app: the event names and payloads (MessengerEvents), the alarms
// a person must see, and the small emitter the facade and its services share.
import type { DeviceAddress, RosterEvent } from '@ghostproof/protocol';
import type { ConnectionState } from './connection.js';
import type { KtAlarm } from './kt-directory.js';
import type { ConversationInfo, StoredMessage } from './store.js';

export type Alarm =
  | KtAlarm
  | {
      readonly kind: 'invalid-commit' | 'fork' | 'gap' | 'tampered' | 'replay' | 'too-far-ahead';
      readonly conversationId: string;
    }
  | { readonly kind: 'rejected-credential'; readonly conversationId: string }
  /**
   * A Welcome for a conversation this device is in (someone slipping in under its id with a
   * group of their own) or one older than the conversation it left (replayed): refused.
   */
  | { readonly kind: 'conflicting-welcome'; readonly conversationId: string }
  /**
   * A conversation announced as the replacement of one that could not continue is not that
   * conversation as this device knows it: the old one is fine here (`previousWasBroken`
   * false), or the replacement brings in accounts that were not in it (`newcomers`, say
   * someone removed in the commit the resetter could not process) or leaves some out
   * (`missing`). It is not linked; it stays a request.
   */
  | {
      readonly kind: 'reset-refused';
      readonly conversationId: string;
      readonly previousConversationId: string;
      readonly previousWasBroken: boolean;
      readonly newcomers: readonly string[];
      readonly missing: readonly string[];
    }
  | {
      readonly kind: 'routing-mismatch';
      readonly conversationId: string;
      /** Mailboxes the server delivers to that are not devices on the roster (ghosts). */
      readonly extra: readonly DeviceAddress[];
      /** Roster devices the server does not deliver to (withheld delivery). */
      readonly missing: readonly DeviceAddress[];
    };

export interface MessengerEvents {
  message: { conversationId: string; message: StoredMessage };
  edit: { conversationId: string; message: StoredMessage };
  delete: { conversationId: string; messageId: string };
  reaction: { conversationId: string; message: StoredMessage };
  receipt: { conversationId: string; message: StoredMessage };
  typing: { conversationId: string; from: DeviceAddress; started: boolean };
  roster: { conversationId: string; events: readonly RosterEvent[] };
  conversation: { conversation: ConversationInfo };
  request: { conversation: ConversationInfo };
  'identity-changed': { username: string };
  /** A contact's display name changed. */
  profile: { username: string; displayName: string };
  alarm: Alarm;
  connection: { state: ConnectionState };
  /**
   * Not an alarm: a commit or Welcome has waited this long for key transparency to answer
   * (offline, the server busy). It is kept, retried, and nothing after it is processed
   * before it; the app says that messages are delayed.
   */
  'delivery-delayed': { since: number };
  /**
   * Messages of `sender` in `epoch` that never arrived, `MISSING_AFTER_MS` after they were
   * found missing (a skipped number not filled by late delivery, or the tail of an epoch
   * the sender says it sent): withheld by the server, or lost. Told once per range.
   */
  'missing-message': { conversationId: string; sender: DeviceAddress; epoch: bigint; count: number };
  /** Disappearing messages (and other timed records) were deleted from the store. */
  expired: { count: number };
}

export type Listener<T> = (event: T) => void;

export type Emit = <K extends keyof MessengerEvents>(kind: K, event: MessengerEvents[K]) => void;

/** Listeners by event name; a listener that throws is the app's bug and reaches its caller. */
export class EventHub {
  private readonly listeners = new Map<keyof MessengerEvents, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. Never throws. */
  on<K extends keyof MessengerEvents>(kind: K, listener: Listener<MessengerEvents[K]>): () => void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  readonly emit: Emit = (kind, event) => {
    for (const listener of this.listeners.get(kind) ?? []) (listener as Listener<typeof event>)(event);
  };
}
