// The ClientStore over sealed records, written once for every encrypted backend. A backend
// (SQLite for Node, IndexedDB for browsers) keeps only a generic record layer: records by kind
// and name, sealed and with hashed names, optionally grouped, sorted and expiring. This file
// says which kind each typed record is and how its name, group, sort value and expiry are
// derived; that mapping is the stored format, so a change here would strand existing profiles.
import type { StoredKeyPackage } from '@ghostproof/protocol';
import type {
  ClientStore,
  Contact,
  ConversationInfo,
  OutboxEntry,
  StoredIdentity,
  StoredMessage,
} from './store.js';
import { fromHex, toHex } from './bytes.js';

/** The kinds of record a ClientStore writes; a backend may add its own beside them. */
export type RecordKind =
  'identity' | 'keypackage' | 'mls' | 'info' | 'message' | 'outbox' | 'delivery' | 'contact' | 'setting';

/** Where a record sits besides its name: all are kept in clear, so none may carry content. */
export interface RecordPlacement {
  /** Records listed together (e.g. a conversation's messages); hashed like the name. */
  readonly group?: string;
  /** The listing order (a timestamp); 0 when absent. */
  readonly sort?: number;
  /** When the record is removed, ms since 1970; 0 or absent = never. */
  readonly expiresAt?: number;
}

/**
 * The generic layer a backend implements: every value sealed, every name and group replaced
 * by a keyed hash of `${kind}\0${name}`, so the stored bytes say nothing of their content.
 */
export interface SealedRecords<K extends string = RecordKind> {
  /** Writes or replaces the record `kind`/`name`. */
  put(kind: K, name: string, value: unknown, placement?: RecordPlacement): Promise<void>;
  get<T>(kind: K, name: string): Promise<T | undefined>;
  /** Whether the record exists, without unsealing it. */
  has(kind: K, name: string): Promise<boolean>;
  /** Removing what is not there is no error. */
  remove(kind: K, name: string): Promise<void>;
  /** All records of a kind (or of one group of it), by ascending sort value. */
  all<T>(kind: K, group?: string): Promise<T[]>;
  /** Removes every record, of any kind, whose expiry has passed; returns how many. */
  removeExpired(now: number): Promise<number>;
  close(): Promise<void>;
}

/** Delivery ids are remembered for 30 days, the server's message lifetime. */
const DELIVERY_MEMORY_MS = 30 * 24 * 3600 * 1000;

const messageName = (conversationId: string, id: string) => `${conversationId}/${id}`;

/** Every ClientStore method as records of a SealedRecords layer. */
export class SealedRecordStore implements ClientStore {
  constructor(private readonly records: SealedRecords) {}

  close(): Promise<void> {
    return this.records.close();
  }

  // identity
  getIdentity() {
    return this.records.get<StoredIdentity>('identity', 'self');
  }
  putIdentity(identity: StoredIdentity) {
    return this.records.put('identity', 'self', identity);
  }

  // protocol store: the ref is kept beside the key package (stored records carry it), and a
  // key package read back carries it too.
  putKeyPackage(ref: Uint8Array, keyPackage: StoredKeyPackage) {
    return this.records.put('keypackage', toHex(ref), { ...keyPackage, ref });
  }
  getKeyPackage(ref: Uint8Array) {
    return this.records.get<StoredKeyPackage>('keypackage', toHex(ref));
  }
  deleteKeyPackage(ref: Uint8Array) {
    return this.records.remove('keypackage', toHex(ref));
  }
  async countKeyPackages() {
    const all = await this.records.all<StoredKeyPackage>('keypackage');
    return {
      oneTime: all.filter((k) => !k.lastResort).length,
      lastResort: all.filter((k) => k.lastResort).length,
    };
  }
  putConversation(groupId: Uint8Array, record: Uint8Array) {
    return this.records.put('mls', toHex(groupId), { groupId: toHex(groupId), record });
  }
  async getConversation(groupId: Uint8Array) {
    return (await this.records.get<{ record: Uint8Array }>('mls', toHex(groupId)))?.record;
  }
  deleteConversation(groupId: Uint8Array) {
    return this.records.remove('mls', toHex(groupId));
  }
  async listConversations() {
    return (await this.records.all<{ groupId: string }>('mls')).map((r) => fromHex(r.groupId));
  }

  // conversations and messages
  getConversationInfo(id: string) {
    return this.records.get<ConversationInfo>('info', id);
  }
  putConversationInfo(info: ConversationInfo) {
    return this.records.put('info', info.id, info, { sort: info.lastActivity });
  }
  listConversationInfos() {
    return this.records.all<ConversationInfo>('info');
  }
  getMessage(conversationId: string, id: string) {
    return this.records.get<StoredMessage>('message', messageName(conversationId, id));
  }
  putMessage(message: StoredMessage) {
    return this.records.put('message', messageName(message.conversationId, message.id), message, {
      group: message.conversationId,
      sort: message.receivedAt,
      expiresAt: message.expiresAt,
    });
  }
  deleteMessage(conversationId: string, id: string) {
    return this.records.remove('message', messageName(conversationId, id));
  }
  listMessages(conversationId: string) {
    return this.records.all<StoredMessage>('message', conversationId);
  }
  deleteExpiredMessages(now: number) {
    // Expired delivery ids go in the same sweep (and are counted with the messages).
    return this.records.removeExpired(now);
  }

  // outbox and deliveries
  putOutbox(entry: OutboxEntry) {
    return this.records.put('outbox', entry.clientId, entry, { sort: entry.createdAt });
  }
  deleteOutbox(clientId: string) {
    return this.records.remove('outbox', clientId);
  }
  listOutbox() {
    return this.records.all<OutboxEntry>('outbox');
  }
  hasDelivery(id: string) {
    return this.records.has('delivery', id);
  }
  putDelivery(id: string, at: number) {
    return this.records.put('delivery', id, { at }, { expiresAt: at + DELIVERY_MEMORY_MS });
  }

  // contacts
  getContact(username: string) {
    return this.records.get<Contact>('contact', username);
  }
  putContact(contact: Contact) {
    return this.records.put('contact', contact.username, contact);
  }
  listContacts() {
    return this.records.all<Contact>('contact');
  }

  // settings: small named records of the client itself (e.g. key transparency state)
  async getSetting(name: string) {
    return (await this.records.get<{ value: Uint8Array }>('setting', name))?.value;
  }
  putSetting(name: string, value: Uint8Array) {
    return this.records.put('setting', name, { value });
  }
}
