// The key transparency log's durable record on SQLite, in its own database file beside the
// server's (kt.db): accepted updates (pending until an epoch publishes them) and published
// epochs with their checkpoints and audit deltas. Nothing secret is stored here; the log's
// signing key and VRF key live in their own key file (kt-keys.ts).
import Database from 'better-sqlite3';
import type { KtEpochRecord, KtStore, KtUpdateRecord } from '@ghostproof/kt';
import { toEpoch, toUpdate, type EpochRow, type UpdateRow } from './kt-rows.js';

export class SqliteKtStore implements KtStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS kt_updates (
        label BLOB NOT NULL,
        version INTEGER NOT NULL,
        nonce BLOB NOT NULL,
        value BLOB NOT NULL,
        head BLOB NOT NULL,
        -- NULL while pending; the epoch that published it afterwards.
        epoch INTEGER,
        seq INTEGER NOT NULL,
        PRIMARY KEY (label, version)
      );
      CREATE INDEX IF NOT EXISTS kt_updates_epoch ON kt_updates (epoch, seq);
      CREATE TABLE IF NOT EXISTS kt_epochs (
        epoch INTEGER PRIMARY KEY,
        timestamp_ms INTEGER NOT NULL,
        prefix_root BLOB NOT NULL,
        update_count INTEGER NOT NULL,
        checkpoint TEXT NOT NULL,
        delta BLOB NOT NULL
      );
    `);
  }

  async addPending(update: KtUpdateRecord): Promise<void> {
    const seq = (
      this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM kt_updates').get() as { seq: number }
    ).seq;
    this.db
      .prepare(
        'INSERT INTO kt_updates (label, version, nonce, value, head, epoch, seq) VALUES (?, ?, ?, ?, ?, NULL, ?)',
      )
      .run(update.label, update.version, update.nonce, update.value, update.head, seq);
  }

  async loadPending(): Promise<KtUpdateRecord[]> {
    const rows = this.db
      .prepare('SELECT label, version, nonce, value, head FROM kt_updates WHERE epoch IS NULL ORDER BY seq')
      .all() as UpdateRow[];
    return rows.map(toUpdate);
  }

  async commitEpoch(epoch: KtEpochRecord, updates: readonly KtUpdateRecord[]): Promise<void> {
    const publish = this.db.prepare(
      'UPDATE kt_updates SET epoch = ? WHERE label = ? AND version = ? AND epoch IS NULL',
    );
    this.db.transaction(() => {
      const e = epoch.entry;
      this.db
        .prepare(
          'INSERT INTO kt_epochs (epoch, timestamp_ms, prefix_root, update_count, checkpoint, delta) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(e.epoch, e.timestampMs, e.prefixRoot, e.updateCount, epoch.checkpoint, epoch.delta);
      for (const u of updates) {
        if (publish.run(e.epoch, u.label, u.version).changes !== 1) {
          throw new Error('kt store: an update to publish is not pending');
        }
      }
    })();
  }

  async *loadEpochs(
    fromEpoch = 0,
  ): AsyncIterable<{ epoch: KtEpochRecord; updates: readonly KtUpdateRecord[] }> {
    const epochs = this.db
      .prepare('SELECT * FROM kt_epochs WHERE epoch >= ? ORDER BY epoch')
      .all(fromEpoch) as EpochRow[];
    const updatesOf = this.db.prepare(
      'SELECT label, version, nonce, value, head FROM kt_updates WHERE epoch = ? ORDER BY seq',
    );
    for (const row of epochs) {
      yield { epoch: toEpoch(row), updates: (updatesOf.all(row.epoch) as UpdateRow[]).map(toUpdate) };
    }
  }

  async getEpoch(epoch: number): Promise<KtEpochRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM kt_epochs WHERE epoch = ?').get(epoch) as EpochRow | undefined;
    return row && toEpoch(row);
  }

  async getUpdate(label: Uint8Array, version: number): Promise<KtUpdateRecord | undefined> {
    const row = this.db
      .prepare('SELECT label, version, nonce, value, head FROM kt_updates WHERE label = ? AND version = ?')
      .get(label, version) as UpdateRow | undefined;
    return row && toUpdate(row);
  }

  close(): void {
    this.db.close();
  }
}
