// The key transparency log's durable record on PostgreSQL, for several nodes sharing one log
// (DESIGN.md, "Key transparency"; issue "Several nodes"): the same two tables as the SQLite
// record (sqlite-kt-store.ts), in the database the nodes share. Every node reads them; one
// node at a time writes them. That node holds a session-level advisory lock on a connection
// of its own (the lease), and every write goes through that same connection: a node whose
// connection ended has lost the lock and cannot write either, so two writers never overlap.
// The epoch number is the table's primary key besides, so even a confused writer could not
// record a second, different epoch N. Nothing secret is stored here.
import pg from 'pg';
import type { KtEpochRecord, KtStore, KtUpdateRecord } from '@ghostproof/kt';
import { blob } from '../storage/ids.js';
import { toEpoch, toUpdate, type EpochRow, type UpdateRow } from './kt-rows.js';

/** Key of the advisory lock held by the log's writer (per database). */
export const KT_WRITER_LOCK = 0x67686f74;
/** Key of the advisory lock taken while creating the tables. */
const KT_MIGRATION_LOCK = 0x67686f75;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kt_updates (
    label BYTEA NOT NULL,
    version INTEGER NOT NULL,
    nonce BYTEA NOT NULL,
    value BYTEA NOT NULL,
    head BYTEA NOT NULL,
    -- NULL while pending; the epoch that published it afterwards.
    epoch INTEGER,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (label, version)
  );
  CREATE INDEX IF NOT EXISTS kt_updates_epoch ON kt_updates (epoch, seq);
  CREATE TABLE IF NOT EXISTS kt_epochs (
    epoch INTEGER PRIMARY KEY,
    timestamp_ms BIGINT NOT NULL,
    prefix_root BYTEA NOT NULL,
    update_count INTEGER NOT NULL,
    checkpoint TEXT NOT NULL,
    delta BYTEA NOT NULL
  );
`;

/** Epochs read per query while catching up, so that a long log is not one huge result. */
const EPOCH_PAGE = 256;

export interface PostgresKtStoreOptions {
  readonly connectionString: string;
  /** Connections for reads. */
  readonly maxConnections?: number;
  /** Called once when this node loses the writer's lease (its connection ended). */
  readonly onLeaseLost?: () => void;
}

export class PostgresKtStore implements KtStore {
  private lease: pg.Client | undefined;
  /** Counts the leases this node took: an operator opened under one must not write under the next. */
  private leases = 0;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresKtStoreOptions,
  ) {}

  /** Connects and creates the tables if they do not exist (idempotent, safe to race). */
  static async open(options: PostgresKtStoreOptions): Promise<PostgresKtStore> {
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
    });
    // An idle client that loses its server (a terminated backend) must not crash the process.
    pool.on('error', () => {});
    const client = await pool.connect().catch(async (error: unknown) => {
      await pool.end();
      throw error;
    });
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [KT_MIGRATION_LOCK]);
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await pool.end();
      throw error;
    }
    client.release();
    return new PostgresKtStore(pool, options);
  }

  /** Whether this node holds the writer's lease (as far as it knows: its connection is up). */
  get leased(): boolean {
    return this.lease !== undefined;
  }

  /** Which lease this node holds: a new number each time it takes the lease again. */
  get leaseNumber(): number {
    return this.leases;
  }

  /**
   * Tries to become the log's one writer. Resolves true if this node holds the lease
   * (already or now), false if another node does.
   */
  async tryLease(): Promise<boolean> {
    if (this.lease) return true;
    // TCP keep-alive: a writer cut off from the database is noticed (and its lock freed by
    // the server, with the server's tcp_keepalives_* settings) without waiting for traffic.
    const client = new pg.Client({ connectionString: this.options.connectionString, keepAlive: true });
    let connected = false;
    const lost = () => {
      if (this.lease !== client) return;
      this.lease = undefined;
      client.end().catch(() => {});
      this.options.onLeaseLost?.();
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      connected = true;
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        KT_WRITER_LOCK,
      ]);
      if (rows[0]?.locked !== true) {
        await client.end();
        return false;
      }
    } catch (error) {
      if (connected) await client.end().catch(() => {});
      throw error;
    }
    this.lease = client;
    this.leases += 1;
    return true;
  }

  /** Gives the lease up (this node cannot write after all): another node may take it. */
  async releaseLease(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await lease.end().catch(() => {});
  }

  private writer(): pg.Client {
    if (!this.lease) throw new Error('kt store: this node does not hold the writer lease');
    return this.lease;
  }

  async addPending(update: KtUpdateRecord): Promise<void> {
    await this.writer().query(
      'INSERT INTO kt_updates (label, version, nonce, value, head) VALUES ($1, $2, $3, $4, $5)',
      [blob(update.label), update.version, blob(update.nonce), blob(update.value), blob(update.head)],
    );
  }

  async loadPending(): Promise<KtUpdateRecord[]> {
    const { rows } = await this.pool.query<UpdateRow>(
      'SELECT label, version, nonce, value, head FROM kt_updates WHERE epoch IS NULL ORDER BY seq',
    );
    return rows.map(toUpdate);
  }

  async commitEpoch(epoch: KtEpochRecord, updates: readonly KtUpdateRecord[]): Promise<void> {
    const db = this.writer();
    const e = epoch.entry;
    await db.query('BEGIN');
    try {
      await db.query(
        `INSERT INTO kt_epochs (epoch, timestamp_ms, prefix_root, update_count, checkpoint, delta)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [e.epoch, e.timestampMs, blob(e.prefixRoot), e.updateCount, epoch.checkpoint, blob(epoch.delta)],
      );
      if (updates.length > 0) {
        const published = await db.query(
          `UPDATE kt_updates SET epoch = $1
           FROM unnest($2::bytea[], $3::integer[]) AS u(label, version)
           WHERE kt_updates.label = u.label AND kt_updates.version = u.version AND kt_updates.epoch IS NULL`,
          [e.epoch, updates.map((u) => blob(u.label)), updates.map((u) => u.version)],
        );
        if (published.rowCount !== updates.length) {
          throw new Error('kt store: an update to publish is not pending');
        }
      }
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  async *loadEpochs(
    fromEpoch = 0,
  ): AsyncIterable<{ epoch: KtEpochRecord; updates: readonly KtUpdateRecord[] }> {
    for (let next = fromEpoch; ;) {
      const { rows } = await this.pool.query<EpochRow>(
        'SELECT * FROM kt_epochs WHERE epoch >= $1 ORDER BY epoch LIMIT $2',
        [next, EPOCH_PAGE],
      );
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!.epoch;
      const updates = await this.pool.query<UpdateRow & { epoch: number }>(
        `SELECT label, version, nonce, value, head, epoch FROM kt_updates
         WHERE epoch BETWEEN $1 AND $2 ORDER BY epoch, seq`,
        [next, last],
      );
      const byEpoch = new Map<number, KtUpdateRecord[]>();
      for (const row of updates.rows) {
        let list = byEpoch.get(row.epoch);
        if (list === undefined) byEpoch.set(row.epoch, (list = []));
        list.push(toUpdate(row));
      }
      for (const row of rows) yield { epoch: toEpoch(row), updates: byEpoch.get(row.epoch) ?? [] };
      if (rows.length < EPOCH_PAGE) return;
      next = last + 1;
    }
  }

  async getEpoch(epoch: number): Promise<KtEpochRecord | undefined> {
    const { rows } = await this.pool.query<EpochRow>('SELECT * FROM kt_epochs WHERE epoch = $1', [epoch]);
    return rows[0] && toEpoch(rows[0]);
  }

  async getUpdate(label: Uint8Array, version: number): Promise<KtUpdateRecord | undefined> {
    const { rows } = await this.pool.query<UpdateRow>(
      'SELECT label, version, nonce, value, head FROM kt_updates WHERE label = $1 AND version = $2',
      [blob(label), version],
    );
    return rows[0] && toUpdate(rows[0]);
  }

  /** Which of `wanted` (label, version) are in the log, pending or published: one query. */
  async logged(wanted: readonly { label: Uint8Array; version: number }[]): Promise<boolean[]> {
    if (wanted.length === 0) return [];
    const { rows } = await this.pool.query<{ i: number }>(
      `SELECT w.i FROM unnest($1::bytea[], $2::integer[]) WITH ORDINALITY AS w(label, version, i)
       JOIN kt_updates u ON u.label = w.label AND u.version = w.version`,
      [wanted.map((w) => blob(w.label)), wanted.map((w) => w.version)],
    );
    const found = wanted.map(() => false);
    for (const row of rows) found[Number(row.i) - 1] = true;
    return found;
  }

  /** Releases the lease (ending its connection) and the read connections. */
  async close(): Promise<void> {
    await this.releaseLease();
    await this.pool.end();
  }
}
