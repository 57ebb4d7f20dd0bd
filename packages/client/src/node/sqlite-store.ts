// The client store for Node: SQLite (better-sqlite3), every record encrypted at rest with
// AES-256-GCM under a per-profile key, and record names replaced by keyed hashes so that the
// database file alone says nothing (no usernames, no conversation ids, no text). The key
// lives in a separate file with owner-only permissions: this protects a copied database, not
// a copied profile. `secure_delete` overwrites deleted content, and the WAL is truncated
// after deletions so that removed messages do not linger there either.
import Database from 'better-sqlite3';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { platformPrimitives } from '@ghostproof/crypto';
import type { StoredKeyPackage } from '@ghostproof/protocol';
import type {
  ClientStore,
  Contact,
  ConversationInfo,
  OutboxEntry,
  StoredIdentity,
  StoredMessage,
} from '../store.js';
import { fromHex, toHex } from '../bytes.js';
import { deserializeRecord, serializeRecord } from '../record-codec.js';

const SCHEMA_VERSION = 1;

type Kind =
  'identity' | 'keypackage' | 'mls' | 'info' | 'message' | 'outbox' | 'delivery' | 'contact' | 'setting';

interface Row {
  name: string;
  value: Buffer;
}

export class SqliteClientStore implements ClientStore {
  private readonly db: Database.Database;

  private constructor(
    private readonly key: Uint8Array,
    private readonly nameKey: Uint8Array,
    file: string,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // Every committed write is on disk before the call returns: an outbox entry survives a crash.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS records (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        grp TEXT NOT NULL DEFAULT '',
        sort INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL DEFAULT 0,
        value BLOB NOT NULL,
        PRIMARY KEY (kind, name)
      );
      CREATE INDEX IF NOT EXISTS records_group ON records (kind, grp, sort);
      CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_at) WHERE expires_at > 0;
    `);
    this.db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
  }

  /** Opens (or creates) the store in `dir`: database `client.db`, key file `store.key` (0600). */
  static open(dir: string): SqliteClientStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyFile = join(dir, 'store.key');
    if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(64), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    const material = new Uint8Array(readFileSync(keyFile));
    if (material.length !== 64) throw new Error('store key file is damaged');
    return new SqliteClientStore(material.slice(0, 32), material.slice(32), join(dir, 'client.db'));
  }

  /** A keyed hash in place of a record's name, so names are not in the file. */
  private hashed(kind: Kind, name: string): string {
    return createHmac('sha256', this.nameKey).update(`${kind}\0${name}`).digest('hex');
  }

  /** The hashed name is the AAD: a sealed value cannot be moved to another record. */
  private async seal(kind: Kind, hashedName: string, value: unknown): Promise<Buffer> {
    const nonce = platformPrimitives.randomBytes(12);
    const aad = new TextEncoder().encode(`${kind}\0${hashedName}`);
    const ct = await platformPrimitives.aesGcmSeal(this.key, nonce, aad, serializeRecord(value));
    return Buffer.concat([nonce, ct]);
  }

  private async unseal<T>(kind: Kind, row: Row): Promise<T> {
    const sealed = new Uint8Array(row.value);
    const aad = new TextEncoder().encode(`${kind}\0${row.name}`);
    return deserializeRecord<T>(
      await platformPrimitives.aesGcmOpen(this.key, sealed.subarray(0, 12), aad, sealed.subarray(12)),
    );
  }

  private async put(
    kind: Kind,
    name: string,
    value: unknown,
    extra: { group?: string; sort?: number; expiresAt?: number } = {},
  ): Promise<void> {
    const hashedName = this.hashed(kind, name);
    const sealed = await this.seal(kind, hashedName, value);
    this.db
      .prepare(
        `INSERT INTO records (kind, name, grp, sort, expires_at, value) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, name) DO UPDATE SET grp = excluded.grp, sort = excluded.sort,
           expires_at = excluded.expires_at, value = excluded.value`,
      )
      .run(
        kind,
        hashedName,
        extra.group === undefined ? '' : this.hashed(kind, extra.group),
        extra.sort ?? 0,
        extra.expiresAt ?? 0,
        sealed,
      );
  }

  private async get<T>(kind: Kind, name: string): Promise<T | undefined> {
    const row = this.db
      .prepare('SELECT name, value FROM records WHERE kind = ? AND name = ?')
      .get(kind, this.hashed(kind, name)) as Row | undefined;
    return row ? this.unseal<T>(kind, row) : undefined;
  }

  private remove(kind: Kind, name: string): void {
    this.db.prepare('DELETE FROM records WHERE kind = ? AND name = ?').run(kind, this.hashed(kind, name));
  }

  private async all<T>(kind: Kind, group?: string): Promise<T[]> {
    const rows = (
      group === undefined
        ? this.db.prepare('SELECT name, value FROM records WHERE kind = ? ORDER BY sort').all(kind)
        : this.db
            .prepare('SELECT name, value FROM records WHERE kind = ? AND grp = ? ORDER BY sort')
            .all(kind, this.hashed(kind, group))
    ) as Row[];
    const out: T[] = [];
    for (const row of rows) out.push(await this.unseal<T>(kind, row));
    return out;
  }

  /** Writes the WAL back and truncates it, so deleted content does not linger in it. */
  private purgeWal(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    this.purgeWal();
    this.db.close();
  }

  // identity
  getIdentity() {
    return this.get<StoredIdentity>('identity', 'self');
  }
  putIdentity(identity: StoredIdentity) {
    return this.put('identity', 'self', identity);
  }

  // protocol store
  putKeyPackage(ref: Uint8Array, keyPackage: StoredKeyPackage) {
    return this.put('keypackage', toHex(ref), { ...keyPackage, ref });
  }
  getKeyPackage(ref: Uint8Array) {
    return this.get<StoredKeyPackage>('keypackage', toHex(ref));
  }
  async deleteKeyPackage(ref: Uint8Array) {
    this.remove('keypackage', toHex(ref));
  }
  async countKeyPackages() {
    const all = await this.all<StoredKeyPackage>('keypackage');
    return {
      oneTime: all.filter((k) => !k.lastResort).length,
      lastResort: all.filter((k) => k.lastResort).length,
    };
  }
  putConversation(groupId: Uint8Array, record: Uint8Array) {
    return this.put('mls', toHex(groupId), { groupId: toHex(groupId), record });
  }
  async getConversation(groupId: Uint8Array) {
    return (await this.get<{ record: Uint8Array }>('mls', toHex(groupId)))?.record;
  }
  async deleteConversation(groupId: Uint8Array) {
    this.remove('mls', toHex(groupId));
  }
  async listConversations() {
    return (await this.all<{ groupId: string }>('mls')).map((r) => fromHex(r.groupId));
  }

  // conversations and messages
  getConversationInfo(id: string) {
    return this.get<ConversationInfo>('info', id);
  }
  putConversationInfo(info: ConversationInfo) {
    return this.put('info', info.id, info, { sort: info.lastActivity });
  }
  listConversationInfos() {
    return this.all<ConversationInfo>('info');
  }
  getMessage(conversationId: string, id: string) {
    return this.get<StoredMessage>('message', `${conversationId}/${id}`);
  }
  putMessage(message: StoredMessage) {
    return this.put('message', `${message.conversationId}/${message.id}`, message, {
      group: message.conversationId,
      sort: message.receivedAt,
      expiresAt: message.expiresAt,
    });
  }
  async deleteMessage(conversationId: string, id: string) {
    this.remove('message', `${conversationId}/${id}`);
    this.purgeWal();
  }
  listMessages(conversationId: string) {
    return this.all<StoredMessage>('message', conversationId);
  }
  async deleteExpiredMessages(now: number) {
    const result = this.db.prepare('DELETE FROM records WHERE expires_at > 0 AND expires_at <= ?').run(now);
    if (result.changes > 0) this.purgeWal();
    return result.changes;
  }

  // outbox and deliveries
  putOutbox(entry: OutboxEntry) {
    return this.put('outbox', entry.clientId, entry, { sort: entry.createdAt });
  }
  async deleteOutbox(clientId: string) {
    this.remove('outbox', clientId);
  }
  listOutbox() {
    return this.all<OutboxEntry>('outbox');
  }
  async hasDelivery(id: string) {
    return (
      this.db
        .prepare('SELECT 1 FROM records WHERE kind = ? AND name = ?')
        .get('delivery', this.hashed('delivery', id)) !== undefined
    );
  }
  putDelivery(id: string, at: number) {
    // Remembered for 30 days, the server's message lifetime.
    return this.put('delivery', id, { at }, { expiresAt: at + 30 * 24 * 3600 * 1000 });
  }

  // contacts
  getContact(username: string) {
    return this.get<Contact>('contact', username);
  }
  putContact(contact: Contact) {
    return this.put('contact', contact.username, contact);
  }
  listContacts() {
    return this.all<Contact>('contact');
  }

  // settings
  async getSetting(name: string) {
    return (await this.get<{ value: Uint8Array }>('setting', name))?.value;
  }
  putSetting(name: string, value: Uint8Array) {
    return this.put('setting', name, { value });
  }
}
