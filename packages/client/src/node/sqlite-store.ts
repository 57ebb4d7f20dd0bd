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
import { deserializeRecord, serializeRecord } from '../record-codec.js';
import {
  SealedRecordStore,
  type RecordKind as Kind,
  type RecordPlacement,
  type SealedRecords,
} from '../sealed-record-store.js';

const SCHEMA_VERSION = 1;

interface Row {
  name: string;
  value: Buffer;
}

/** The sealed record layer in one SQLite table. */
class SqliteRecords implements SealedRecords {
  private readonly db: Database.Database;

  constructor(
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

  /** A keyed hash in place of a record's name, so names are not in the file. */
  hashed(kind: Kind, name: string): string {
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

  async put(kind: Kind, name: string, value: unknown, extra: RecordPlacement = {}): Promise<void> {
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

  async get<T>(kind: Kind, name: string): Promise<T | undefined> {
    const row = this.db
      .prepare('SELECT name, value FROM records WHERE kind = ? AND name = ?')
      .get(kind, this.hashed(kind, name)) as Row | undefined;
    return row ? this.unseal<T>(kind, row) : undefined;
  }

  async has(kind: Kind, name: string): Promise<boolean> {
    return (
      this.db
        .prepare('SELECT 1 FROM records WHERE kind = ? AND name = ?')
        .get(kind, this.hashed(kind, name)) !== undefined
    );
  }

  async remove(kind: Kind, name: string): Promise<void> {
    this.db.prepare('DELETE FROM records WHERE kind = ? AND name = ?').run(kind, this.hashed(kind, name));
    // A deleted message's text must not stay readable in the WAL.
    if (kind === 'message') this.purgeWal();
  }

  async all<T>(kind: Kind, group?: string): Promise<T[]> {
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

  async removeExpired(now: number): Promise<number> {
    const result = this.db.prepare('DELETE FROM records WHERE expires_at > 0 AND expires_at <= ?').run(now);
    if (result.changes > 0) this.purgeWal();
    return result.changes;
  }

  /** Writes the WAL back and truncates it, so deleted content does not linger in it. */
  private purgeWal(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    this.purgeWal();
    this.db.close();
  }
}

/** The ClientStore of a Node profile directory. */
export class SqliteClientStore extends SealedRecordStore {
  private constructor(private readonly sealed: SqliteRecords) {
    super(sealed);
  }

  /** The hash a record's name is stored under: tests look for a record in the raw files by it. */
  private hashed(kind: Kind, name: string): string {
    return this.sealed.hashed(kind, name);
  }

  /** Opens (or creates) the store in `dir`: database `client.db`, key file `store.key` (0600). */
  static open(dir: string): SqliteClientStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyFile = join(dir, 'store.key');
    if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(64), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    const material = new Uint8Array(readFileSync(keyFile));
    if (material.length !== 64) throw new Error('store key file is damaged');
    return new SqliteClientStore(
      new SqliteRecords(material.slice(0, 32), material.slice(32), join(dir, 'client.db')),
    );
  }
}
