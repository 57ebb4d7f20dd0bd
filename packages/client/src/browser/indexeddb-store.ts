// The client store for browsers: IndexedDB, every record sealed with AES-256-GCM under a
// wrapping key that WebCrypto generated as non-extractable, and record names replaced by keyed
// hashes (HMAC-SHA-256 under a second non-extractable key), as the SQLite store does for Node.
// Both keys are kept in IndexedDB as CryptoKey objects: structured cloning preserves
// `extractable: false`, so no script, including this one, can read their bytes, and a copy of
// the browser profile's IndexedDB files holds no usable key material in the clear (the
// browser keeps the key bytes in its own storage, which is what a profile copy still exposes;
// docs/web.md says what this protects and what it does not). ts-mls state holds raw private
// keys, so nothing is ever written unsealed: the only cleartext per record is its kind, the
// hashed name and group, a sort value (a timestamp) and the expiry.
import { toHex } from '../bytes.js';
import { deserializeRecord, serializeRecord } from '../record-codec.js';
import {
  SealedRecordStore,
  type RecordKind,
  type RecordPlacement,
  type SealedRecords,
} from '../sealed-record-store.js';

const SCHEMA_VERSION = 1;
const RECORDS = 'records';
const KEYS = 'keys';
const KEY_ID = 'store-keys';

/** The ClientStore's kinds and the app's own records. */
type Kind = RecordKind | 'app';

/** What a write changed, for views that re-read on change (never holds record contents). */
export interface StoreChange {
  readonly kind: Kind;
  /** The record's name in clear, e.g. a conversation id; only delivered in memory. */
  readonly name: string;
}

interface StoredKeys {
  readonly id: string;
  readonly wrap: CryptoKey;
  readonly names: CryptoKey;
}

interface RecordRow {
  /** `${kind}:${hashed name}`: the primary key. */
  readonly key: string;
  readonly kind: Kind;
  readonly name: string;
  readonly grp: string;
  readonly sort: number;
  readonly expiresAt: number;
  /** nonce (12 bytes) || AES-GCM ciphertext and tag. */
  readonly value: ArrayBuffer;
}

const encoder = new TextEncoder();

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

function openDatabase(name: string, factory: IDBFactory): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, SCHEMA_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS, { keyPath: 'id' });
      if (!db.objectStoreNames.contains(RECORDS)) {
        const records = db.createObjectStore(RECORDS, { keyPath: 'key' });
        records.createIndex('by-kind', ['kind', 'sort']);
        records.createIndex('by-group', ['kind', 'grp', 'sort']);
        records.createIndex('by-expiry', 'expiresAt');
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('cannot open IndexedDB'));
    req.onblocked = () => reject(new Error('IndexedDB is held by an older version in another tab'));
  });
}

/** Loads the store's keys, creating them (non-extractable) on first use. */
async function loadKeys(db: IDBDatabase, subtle: SubtleCrypto): Promise<StoredKeys> {
  const existing = await request<StoredKeys | undefined>(
    db.transaction(KEYS, 'readonly').objectStore(KEYS).get(KEY_ID) as IDBRequest<StoredKeys | undefined>,
  );
  if (existing) return existing;
  const fresh: StoredKeys = {
    id: KEY_ID,
    wrap: await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    names: await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
  };
  // `add`, not `put`: if another tab created keys meanwhile, theirs win and are read back.
  const tx = db.transaction(KEYS, 'readwrite', { durability: 'strict' });
  tx.objectStore(KEYS).add(fresh);
  try {
    await done(tx);
    return fresh;
  } catch {
    const winner = await request<StoredKeys | undefined>(
      db.transaction(KEYS, 'readonly').objectStore(KEYS).get(KEY_ID) as IDBRequest<StoredKeys | undefined>,
    );
    if (!winner) throw new Error('IndexedDB: store keys could not be created');
    return winner;
  }
}

export interface IndexedDbStoreOptions {
  /** Database name; one per profile (default `ghostproof`). */
  readonly name?: string;
  /** For tests: another IDBFactory / SubtleCrypto than the page's. */
  readonly indexedDB?: IDBFactory;
  readonly subtle?: SubtleCrypto;
}

/** The sealed record layer in one IndexedDB object store. */
class IndexedDbRecords implements SealedRecords<Kind> {
  private readonly listeners = new Set<(change: StoreChange) => void>();

  constructor(
    private readonly db: IDBDatabase,
    private readonly keys: StoredKeys,
    private readonly subtle: SubtleCrypto,
  ) {}

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(kind: Kind, name: string): void {
    for (const listener of this.listeners) {
      try {
        listener({ kind, name });
      } catch {
        // A view's failure does not undo the write.
      }
    }
  }

  /** A keyed hash in place of a record's name, so names are not in the database. */
  async hashed(kind: Kind, name: string): Promise<string> {
    const mac = await this.subtle.sign('HMAC', this.keys.names, encoder.encode(`${kind}\0${name}`));
    return toHex(new Uint8Array(mac));
  }

  /** The kind and hashed name are the AAD: a sealed value cannot be moved to another record. */
  private async seal(kind: Kind, hashedName: string, value: unknown): Promise<ArrayBuffer> {
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const ct = await this.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(`${kind}\0${hashedName}`) },
      this.keys.wrap,
      serializeRecord(value) as BufferSource,
    );
    const out = new Uint8Array(12 + ct.byteLength);
    out.set(nonce);
    out.set(new Uint8Array(ct), 12);
    return out.buffer;
  }

  private async unseal<T>(row: RecordRow): Promise<T> {
    const sealed = new Uint8Array(row.value);
    const plain = await this.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: sealed.subarray(0, 12),
        additionalData: encoder.encode(`${row.kind}\0${row.name}`),
      },
      this.keys.wrap,
      sealed.subarray(12),
    );
    return deserializeRecord<T>(new Uint8Array(plain));
  }

  async put(kind: Kind, name: string, value: unknown, extra: RecordPlacement = {}): Promise<void> {
    // All crypto happens before the transaction: IndexedDB commits a transaction as soon as
    // it has no pending request, so nothing may be awaited inside one.
    const hashedName = await this.hashed(kind, name);
    const row: RecordRow = {
      key: `${kind}:${hashedName}`,
      kind,
      name: hashedName,
      grp: extra.group === undefined ? '' : await this.hashed(kind, extra.group),
      sort: extra.sort ?? 0,
      expiresAt: extra.expiresAt ?? 0,
      value: await this.seal(kind, hashedName, value),
    };
    // Strict durability: an outbox entry or a ratcheted group state must survive a crash.
    const tx = this.db.transaction(RECORDS, 'readwrite', { durability: 'strict' });
    tx.objectStore(RECORDS).put(row);
    await done(tx);
    this.changed(kind, name);
  }

  private async row(kind: Kind, name: string): Promise<RecordRow | undefined> {
    const key = `${kind}:${await this.hashed(kind, name)}`;
    return request<RecordRow | undefined>(
      this.db.transaction(RECORDS, 'readonly').objectStore(RECORDS).get(key) as IDBRequest<
        RecordRow | undefined
      >,
    );
  }

  async get<T>(kind: Kind, name: string): Promise<T | undefined> {
    const row = await this.row(kind, name);
    return row ? this.unseal<T>(row) : undefined;
  }

  async remove(kind: Kind, name: string): Promise<void> {
    const key = `${kind}:${await this.hashed(kind, name)}`;
    const tx = this.db.transaction(RECORDS, 'readwrite', { durability: 'strict' });
    tx.objectStore(RECORDS).delete(key);
    await done(tx);
    this.changed(kind, name);
  }

  async all<T>(kind: Kind, group?: string): Promise<T[]> {
    const grp = group === undefined ? undefined : await this.hashed(kind, group);
    const store = this.db.transaction(RECORDS, 'readonly').objectStore(RECORDS);
    const rows = await request(
      (grp === undefined
        ? store.index('by-kind').getAll(IDBKeyRange.bound([kind, -Infinity], [kind, Infinity]))
        : store
            .index('by-group')
            .getAll(IDBKeyRange.bound([kind, grp, -Infinity], [kind, grp, Infinity]))) as IDBRequest<
        RecordRow[]
      >,
    );
    return Promise.all(rows.map((row) => this.unseal<T>(row)));
  }

  async has(kind: Kind, name: string): Promise<boolean> {
    return (await this.row(kind, name)) !== undefined;
  }

  async removeExpired(now: number): Promise<number> {
    // The Messenger asks every second: look first, and write only when something is due.
    const due = await request(
      this.db
        .transaction(RECORDS, 'readonly')
        .objectStore(RECORDS)
        .index('by-expiry')
        .count(IDBKeyRange.bound(0, now, true, false)),
    );
    if (due === 0) return 0;
    const tx = this.db.transaction(RECORDS, 'readwrite', { durability: 'strict' });
    const index = tx.objectStore(RECORDS).index('by-expiry');
    // expires_at > 0 (0 means never) and <= now.
    const keys = await request(index.getAllKeys(IDBKeyRange.bound(0, now, true, false)));
    for (const key of keys) tx.objectStore(RECORDS).delete(key);
    await done(tx);
    if (keys.length > 0) this.changed('message', '');
    return keys.length;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.db.close();
  }
}

/** The ClientStore of a browser profile, with change notifications and the app's records. */
export class IndexedDbClientStore extends SealedRecordStore {
  private constructor(private readonly sealed: IndexedDbRecords) {
    super(sealed);
  }

  /** The hash a record's name is stored under: tests look for a record in the raw files by it. */
  private hashed(kind: Kind, name: string): Promise<string> {
    return this.sealed.hashed(kind, name);
  }

  /** Opens (or creates) the store; the keys are generated here on first use. */
  static async open(options: IndexedDbStoreOptions = {}): Promise<IndexedDbClientStore> {
    const factory = options.indexedDB ?? indexedDB;
    const subtle = options.subtle ?? crypto.subtle;
    const db = await openDatabase(options.name ?? 'ghostproof', factory);
    const keys = await loadKeys(db, subtle);
    if (keys.wrap.extractable || keys.names.extractable)
      throw new Error('store keys must not be extractable');
    return new IndexedDbClientStore(new IndexedDbRecords(db, keys, subtle));
  }

  /** Deletes a profile's database, keys included. */
  static async destroy(name = 'ghostproof', factory: IDBFactory = indexedDB): Promise<void> {
    await request(factory.deleteDatabase(name));
  }

  /** Calls `listener` after every write or deletion (in this page), so views can re-read. */
  subscribe(listener: (change: StoreChange) => void): () => void {
    return this.sealed.subscribe(listener);
  }

  // The app's own records (timeline notes such as roster events and alarms), sealed the same
  // way, grouped by a collection name (e.g. a conversation id) and ordered by `sort`.
  putAppRecord(collection: string, id: string, value: unknown, sort: number) {
    return this.sealed.put('app', `${collection}/${id}`, value, { group: collection, sort });
  }
  listAppRecords<T>(collection: string) {
    return this.sealed.all<T>('app', collection);
  }
  deleteAppRecord(collection: string, id: string) {
    return this.sealed.remove('app', `${collection}/${id}`);
  }
}
