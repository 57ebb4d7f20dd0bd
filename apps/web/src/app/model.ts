// The page's view of one Messenger: what React components read and the notes the SDK only
// reports as events (roster changes, alarms), kept in the encrypted store so that they are
// still shown after a reload. Components subscribe to topics; a write to the store or an SDK
// event bumps the topics it touches, and the components re-read from the SDK.
import {
  type Alarm,
  type ConnectionState,
  type Contact,
  type ConversationInfo,
  type IndexedDbClientStore,
  type Messenger,
  type StoreChange,
  type StoredMessage,
} from '@ghostproof/client/browser';
import type { RosterEvent } from '@ghostproof/protocol';
import { deliveryDelayedText, missingMessageText } from './text.js';

export type Note =
  | {
      readonly id: string;
      readonly at: number;
      readonly kind: 'roster';
      readonly event: RosterEvent;
    }
  | {
      readonly id: string;
      readonly at: number;
      readonly kind: 'alarm';
      readonly alarm: Alarm;
      dismissed: boolean;
    }
  /** Not an alarm: something the person should know (messages delayed, or never arrived). */
  | {
      readonly id: string;
      readonly at: number;
      readonly kind: 'notice';
      readonly text: string;
    };

/** Notes not tied to a conversation (e.g. a Welcome with a credential that did not verify). */
export const GLOBAL_NOTES = 'global';
const TYPING_SHOWN_MS = 7000;

export type Topic =
  | 'conversations'
  | 'contacts'
  | 'connection'
  | 'messages'
  | `messages:${string}`
  | `notes:${string}`
  | `typing:${string}`
  | 'progress';

export interface Progress {
  readonly done: number;
  readonly total: number;
}

const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16)).join('');

export class Model {
  private readonly versions = new Map<Topic, number>();
  private readonly listeners = new Map<Topic, Set<() => void>>();
  private readonly pending = new Set<Topic>();
  private flushScheduled = false;
  private readonly typingState = new Map<string, Map<string, number>>();
  private readonly progressState = new Map<string, Progress>();
  private readonly unsubscribe: (() => void)[] = [];
  connection: ConnectionState = 'connecting';
  /** Set once the first connection succeeded: later attempts are reconnections. */
  wasOnline = false;
  /** The conversation on screen, if any (no notification for it while the page is visible). */
  openConversation: string | undefined;
  /** The attachment upload in flight; the page's fetch reports its network progress here. */
  uploadProgress: ((sent: number, total: number) => void) | undefined;

  constructor(
    readonly messenger: Messenger,
    readonly store: IndexedDbClientStore,
  ) {
    this.unsubscribe.push(store.subscribe((change) => this.onStoreChange(change)));
    const m = messenger;
    this.unsubscribe.push(
      m.on('connection', ({ state }) => {
        this.connection = state;
        if (state === 'online') this.wasOnline = true;
        this.bump('connection');
      }),
      m.on('typing', ({ conversationId, from, started }) =>
        this.onTyping(conversationId, from.username, started),
      ),
      m.on('message', ({ conversationId, message }) => {
        this.clearTyping(conversationId, message.sender.username);
        this.notify(conversationId, message);
      }),
      m.on('roster', ({ conversationId, events }) => {
        void (async () => {
          // One commit's events keep their order: each a microsecond after the one before.
          const at = Date.now();
          for (const [i, event] of events.entries()) {
            await this.addNote(conversationId, { id: randomId(), at: at + i / 1000, kind: 'roster', event });
          }
        })();
      }),
      m.on('alarm', (alarm) => void this.onAlarm(alarm)),
      m.on('missing-message', ({ conversationId, sender, count }) => {
        void this.addNote(conversationId, {
          id: randomId(),
          at: Date.now(),
          kind: 'notice',
          text: missingMessageText(sender.username, count),
        });
      }),
      m.on('delivery-delayed', () => {
        void this.addNote(GLOBAL_NOTES, {
          id: randomId(),
          at: Date.now(),
          kind: 'notice',
          text: deliveryDelayedText(),
        });
      }),
      m.on('identity-changed', () => this.bump('contacts')),
    );
  }

  get username(): string {
    return this.messenger.username;
  }

  dispose(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  // --- topics -----------------------------------------------------------------------------

  version(topic: Topic): number {
    return this.versions.get(topic) ?? 0;
  }

  subscribe(topic: Topic, listener: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Topics are flushed once per task, however many store writes one delivery made. */
  bump(topic: Topic): void {
    this.versions.set(topic, this.version(topic) + 1);
    this.pending.add(topic);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      const topics = [...this.pending];
      this.pending.clear();
      for (const t of topics) for (const listener of this.listeners.get(t) ?? []) listener();
    }, 0);
  }

  private onStoreChange(change: StoreChange): void {
    switch (change.kind) {
      case 'info':
        this.bump('conversations');
        return;
      case 'message': {
        const conversationId = change.name.split('/')[0];
        if (conversationId) this.bump(`messages:${conversationId}`);
        this.bump('messages');
        return;
      }
      case 'contact':
        this.bump('contacts');
        return;
      case 'app':
        this.bump(`notes:${change.name.split('/')[0] ?? ''}`);
        return;
      default:
        return;
    }
  }

  // --- reads ------------------------------------------------------------------------------

  conversations(): Promise<ConversationInfo[]> {
    return this.messenger.listConversations();
  }

  conversation(id: string): Promise<ConversationInfo | undefined> {
    return this.messenger.conversationInfo(id).catch(() => undefined);
  }

  messages(id: string): Promise<StoredMessage[]> {
    return this.messenger.messages(id);
  }

  contact(username: string): Promise<Contact | undefined> {
    return this.store.getContact(username);
  }

  contacts(): Promise<Contact[]> {
    return this.store.listContacts();
  }

  async notes(collection: string): Promise<Note[]> {
    return this.store.listAppRecords<Note>(collection);
  }

  // --- notes: roster events and alarms ----------------------------------------------------

  private addNote(collection: string, note: Note): Promise<void> {
    return this.store.putAppRecord(collection, note.id, note, note.at);
  }

  private async onAlarm(alarm: Alarm): Promise<void> {
    // Key transparency alarms concern the account, not one conversation.
    const collection = ('conversationId' in alarm && alarm.conversationId) || GLOBAL_NOTES;
    const same = JSON.stringify(alarm);
    // A routing check repeats its alarm after every commit: show each distinct one once.
    const existing = await this.notes(collection);
    if (existing.some((n) => n.kind === 'alarm' && !n.dismissed && JSON.stringify(n.alarm) === same)) return;
    await this.addNote(collection, {
      id: randomId(),
      at: Date.now(),
      kind: 'alarm',
      alarm,
      dismissed: false,
    });
  }

  async dismissAlarm(collection: string, note: Note): Promise<void> {
    if (note.kind !== 'alarm') return;
    await this.addNote(collection, { ...note, dismissed: true });
  }

  // --- typing -----------------------------------------------------------------------------

  typing(conversationId: string): string[] {
    const now = Date.now();
    const inConversation = this.typingState.get(conversationId);
    if (!inConversation) return [];
    return [...inConversation].filter(([, until]) => until > now).map(([name]) => name);
  }

  private onTyping(conversationId: string, username: string, started: boolean): void {
    if (username === this.username) return;
    let inConversation = this.typingState.get(conversationId);
    if (!inConversation) this.typingState.set(conversationId, (inConversation = new Map<string, number>()));
    if (started) {
      inConversation.set(username, Date.now() + TYPING_SHOWN_MS);
      setTimeout(() => this.bump(`typing:${conversationId}`), TYPING_SHOWN_MS + 50);
    } else {
      inConversation.delete(username);
    }
    this.bump(`typing:${conversationId}`);
  }

  private clearTyping(conversationId: string, username: string): void {
    if (this.typingState.get(conversationId)?.delete(username)) this.bump(`typing:${conversationId}`);
  }

  // --- progress of attachment transfers ---------------------------------------------------

  progress(key: string): Progress | undefined {
    return this.progressState.get(key);
  }

  setProgress(key: string, progress: Progress | undefined): void {
    if (progress) this.progressState.set(key, progress);
    else this.progressState.delete(key);
    this.bump('progress');
  }

  // --- decrypted attachments, kept as object URLs for the page's lifetime -------------------

  private readonly attachmentUrls = new Map<string, string>();

  attachmentUrl(attachmentId: string): string | undefined {
    return this.attachmentUrls.get(attachmentId);
  }

  rememberAttachment(attachmentId: string, blob: Blob): string {
    const existing = this.attachmentUrls.get(attachmentId);
    if (existing) return existing;
    const url = URL.createObjectURL(blob);
    this.attachmentUrls.set(attachmentId, url);
    return url;
  }

  // --- desktop notifications --------------------------------------------------------------

  private notify(conversationId: string, message: StoredMessage): void {
    if (message.sender.username === this.username) return;
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    if (document.visibilityState === 'visible' && this.openConversation === conversationId) return;
    try {
      // The sender's name only: a notification can show on a locked screen; the text stays here.
      const notification = new Notification('Ghostproof', {
        body: `New message from ${message.sender.username}`,
        tag: conversationId,
      });
      notification.onclick = () => {
        window.focus();
        location.hash = `#/c/${conversationId}`;
      };
    } catch {
      // Some browsers only show notifications from a service worker: then there are none.
    }
  }
}
