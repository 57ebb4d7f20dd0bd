// What a client keeps, behind one async interface (STYLE.md: storage is passed in). The
// in-memory store serves tests and ephemeral sessions; the SQLite store (node.ts) keeps the
// same records encrypted at rest, and the browser brings IndexedDB.
import { MemoryProtocolStore, type DeviceAddress, type ProtocolStore } from '@ghostproof/protocol';

export interface StoredIdentity {
  readonly serverUrl: string;
  readonly username: string;
  readonly identityPublicKey: Uint8Array;
  readonly identitySecretKey: Uint8Array;
  readonly deviceId: number;
  readonly devicePublicKey: Uint8Array;
  readonly deviceSecretKey: Uint8Array;
  /** The account's current signed device list, as registered. */
  readonly signedDeviceList: Uint8Array;
}

export type ConversationStatus = 'active' | 'request' | 'declined' | 'left';

export interface ConversationInfo {
  /** Hex of the MLS group id. */
  readonly id: string;
  readonly kind: 'direct' | 'group';
  status: ConversationStatus;
  name: string;
  admins: string[];
  /** For a 1:1 conversation: the other account. */
  peer?: string;
  unread: number;
  lastActivity: number;
  /** Messages this device sent since its last self-update commit, and when that was. */
  sentSinceUpdate: number;
  lastUpdateAt: number;
  /** 0 = messages do not disappear. */
  disappearingSeconds: number;
  /** Set when this conversation was reset into another after an invalid commit. */
  replacedBy?: string;
  /**
   * When this device found the conversation unable to continue and left its reset to
   * another member: if no replacement is announced in time, it resets it itself.
   */
  brokenAt?: number;
}

export type DeliveryState = 'sending' | 'sent' | 'delivered' | 'read' | 'received';

export interface AttachmentInfo {
  readonly id: string;
  readonly key: Uint8Array;
  readonly digest: Uint8Array;
  readonly size: number;
  readonly contentType: string;
  readonly fileName: string;
  readonly token: string;
}

export interface StoredMessage {
  readonly conversationId: string;
  /** Hex of the content message id. */
  readonly id: string;
  readonly sender: DeviceAddress;
  readonly sentAt: number;
  readonly receivedAt: number;
  text: string;
  readonly replyTo?: string;
  readonly attachment?: AttachmentInfo;
  state: DeliveryState;
  /** Per account: the reactions it currently has on the message. */
  reactions: Record<string, string[]>;
  /** Accounts that have reported delivery / reading (for messages this account sent). */
  deliveredTo: string[];
  readTo: string[];
  edited: boolean;
  deleted: boolean;
  /** When the message disappears, ms since 1970; 0 = never. */
  expiresAt: number;
}

export interface OutboxEntry {
  /** Hex of the 16-byte client id the server dedupes by. */
  readonly clientId: string;
  readonly groupId: string;
  readonly message: Uint8Array;
  /** Hex of the content message id, when this carries one the UI shows. */
  readonly messageId?: string;
  readonly createdAt: number;
}

export interface Contact {
  readonly username: string;
  /** The identity key first seen for this account (trust on first use), or the verified one. */
  identityKey: Uint8Array;
  verified: boolean;
  blocked: boolean;
  /** This account has accepted a conversation with them or started one. */
  accepted: boolean;
  /** Set when their identity key changed and this has not been acknowledged yet. */
  identityChangedAt: number;
  displayName: string;
}

export interface ClientStore extends ProtocolStore {
  getIdentity(): Promise<StoredIdentity | undefined>;
  putIdentity(identity: StoredIdentity): Promise<void>;

  getConversationInfo(id: string): Promise<ConversationInfo | undefined>;
  putConversationInfo(info: ConversationInfo): Promise<void>;
  listConversationInfos(): Promise<ConversationInfo[]>;

  getMessage(conversationId: string, id: string): Promise<StoredMessage | undefined>;
  putMessage(message: StoredMessage): Promise<void>;
  deleteMessage(conversationId: string, id: string): Promise<void>;
  listMessages(conversationId: string): Promise<StoredMessage[]>;
  /** Removes messages whose expiresAt has passed; returns how many. */
  deleteExpiredMessages(now: number): Promise<number>;

  putOutbox(entry: OutboxEntry): Promise<void>;
  deleteOutbox(clientId: string): Promise<void>;
  listOutbox(): Promise<OutboxEntry[]>;

  /** Server delivery ids already processed (redeliveries are acked, not processed again). */
  hasDelivery(id: string): Promise<boolean>;
  putDelivery(id: string, at: number): Promise<void>;

  getContact(username: string): Promise<Contact | undefined>;
  putContact(contact: Contact): Promise<void>;
  listContacts(): Promise<Contact[]>;

  /** Small named records of the client itself (e.g. key transparency state). */
  getSetting(name: string): Promise<Uint8Array | undefined>;
  putSetting(name: string, value: Uint8Array): Promise<void>;

  close(): Promise<void>;
}

const clone = <T>(value: T): T => structuredClone(value);

export class MemoryClientStore extends MemoryProtocolStore implements ClientStore {
  private identity: StoredIdentity | undefined;
  private readonly infos = new Map<string, ConversationInfo>();
  private readonly messages = new Map<string, Map<string, StoredMessage>>();
  private readonly outbox = new Map<string, OutboxEntry>();
  private readonly deliveries = new Map<string, number>();
  private readonly contacts = new Map<string, Contact>();
  private readonly settings = new Map<string, Uint8Array>();

  async getIdentity() {
    return this.identity && clone(this.identity);
  }
  async putIdentity(identity: StoredIdentity) {
    this.identity = clone(identity);
  }
  async getConversationInfo(id: string) {
    const info = this.infos.get(id);
    return info && clone(info);
  }
  async putConversationInfo(info: ConversationInfo) {
    this.infos.set(info.id, clone(info));
  }
  async listConversationInfos() {
    return [...this.infos.values()].map(clone);
  }
  async getMessage(conversationId: string, id: string) {
    const m = this.messages.get(conversationId)?.get(id);
    return m && clone(m);
  }
  async putMessage(message: StoredMessage) {
    let inConversation = this.messages.get(message.conversationId);
    if (!inConversation) {
      inConversation = new Map<string, StoredMessage>();
      this.messages.set(message.conversationId, inConversation);
    }
    inConversation.set(message.id, clone(message));
  }
  async deleteMessage(conversationId: string, id: string) {
    this.messages.get(conversationId)?.delete(id);
  }
  async listMessages(conversationId: string) {
    return [...(this.messages.get(conversationId)?.values() ?? [])]
      .map(clone)
      .sort((a, b) => a.receivedAt - b.receivedAt);
  }
  async deleteExpiredMessages(now: number) {
    let count = 0;
    for (const inConversation of this.messages.values()) {
      for (const [id, m] of inConversation) {
        if (m.expiresAt > 0 && m.expiresAt <= now) {
          inConversation.delete(id);
          count++;
        }
      }
    }
    return count;
  }
  async putOutbox(entry: OutboxEntry) {
    this.outbox.set(entry.clientId, clone(entry));
  }
  async deleteOutbox(clientId: string) {
    this.outbox.delete(clientId);
  }
  async listOutbox() {
    return [...this.outbox.values()].map(clone).sort((a, b) => a.createdAt - b.createdAt);
  }
  async hasDelivery(id: string) {
    return this.deliveries.has(id);
  }
  async putDelivery(id: string, at: number) {
    this.deliveries.set(id, at);
  }
  async getContact(username: string) {
    const c = this.contacts.get(username);
    return c && clone(c);
  }
  async putContact(contact: Contact) {
    this.contacts.set(contact.username, clone(contact));
  }
  async listContacts() {
    return [...this.contacts.values()].map(clone);
  }
  async getSetting(name: string) {
    return this.settings.get(name)?.slice();
  }
  async putSetting(name: string, value: Uint8Array) {
    this.settings.set(name, value.slice());
  }
  async close() {}
}
