// The storage adapter for several nodes: PostgreSQL through `pg`. Like the SQLite adapter it
// group-commits: every write queued during one turn of the event loop runs in one
// transaction, each inside its own savepoint so that one failing write (a stale epoch, a
// taken name) fails alone, and a write's promise resolves only after that transaction
// committed. Fan-out goes in multi-row statements (one INSERT for all mailbox entries of a
// message). Nothing is cached in the process: other nodes write the same rows, so the
// checks that matter (epoch compare-and-set, routing-list membership, idempotency by client
// id) are done in SQL inside the transaction. The epoch compare-and-set is
// `UPDATE groups SET epoch = epoch + 1 WHERE id = $1 AND epoch = $2`: of two nodes racing
// for one epoch, the second waits on the row lock, then matches no row and gets stale-epoch.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ApiError } from '@ghostproof/api';
import { MIGRATION_LOCK, POSTGRES_SCHEMA_VERSION, postgresMigrations } from './postgres-schema.js';
import type {
  AcceptedSend,
  AccountId,
  AccountRecord,
  AccountUpdate,
  AttachmentRecord,
  ClaimResult,
  CommitInput,
  DeliveryKind,
  DeviceListChange,
  Fanout,
  KeyPackageCount,
  MailboxKey,
  MailboxName,
  MessageInput,
  NewAccount,
  PurgeResult,
  RoutingList,
  SessionRecord,
  Store,
  StoredDelivery,
  StoredKeyPackage,
} from './store.js';
import {
  accountUpdateOf,
  blob,
  messageIdOf,
  sameBytes,
  seqOf,
  welcomeRecipients,
  type AccountUpdateRow,
  type ClaimRow,
} from './ids.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database */
  readonly connectionString: string;
  /** Schema (namespace) to use, created if missing; default `public`. */
  readonly schema?: string;
  /** Connections in the pool. */
  readonly maxConnections?: number;
  /** Called after every group commit with the number of writes and the seconds it took. */
  readonly onFlush?: (writes: number, seconds: number) => void;
  /**
   * Test-only, default false: route a Welcome by anyone's claim of its key packages, as
   * before schema 3, so that a test can show the ghost Welcome this store otherwise refuses.
   */
  readonly unsafeTestingRouteWelcomeByAnyClaim?: boolean;
}

interface Queryable {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Errors that are the database's or the connection's, not the request's: try again later. */
function unavailable(error: unknown): unknown {
  return error instanceof ApiError
    ? error
    : new ApiError('unavailable', 'storage: unavailable', { cause: error });
}

const kindCodes: Record<DeliveryKind, number> = { message: 1, commit: 2, welcome: 3 };
const kindNames: Record<number, DeliveryKind> = { 1: 'message', 2: 'commit', 3: 'welcome' };

// BIGINT columns hold times and sequences below 2^53: read them as numbers.
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(
          oid,
          format,
        )) as pg.CustomTypesConfig['getTypeParser'],
};

/** PostgreSQL errors after which the whole batch may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_BATCH_ATTEMPTS = 3;

function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new TypeError('schema: lowercase letters, digits and _, at most 63');
  }
  return `"${name}"`;
}

const ignore = () => {};

function pgCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

interface AccountRow {
  id: number;
  username: string;
  identity_key: Buffer;
  sequence: number;
  device_list: Buffer;
  max_device_id: number;
  logged_sequence: number;
  created_at: number;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Acknowledged entries of one mailbox, by position. */
interface AckInput {
  readonly mailbox: MailboxKey;
  readonly seqs: readonly number[];
}

interface QueuedWrite {
  run: (db: pg.ClientBase) => Promise<unknown>;
  /** Set for application messages: consecutive ones are stored together in a few statements. */
  message?: MessageInput;
  /** Set for acknowledgements: consecutive ones are deleted together, in three statements. */
  ack?: AckInput;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class PostgresStore implements Store {
  private queue: QueuedWrite[] = [];
  /** Reads outside the group commit: a lost connection answers `unavailable`. */
  private readonly reads: Queryable;
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly onFlush: ((writes: number, seconds: number) => void) | undefined,
    private readonly routeWelcomeByAnyClaim: boolean,
  ) {
    this.reads = {
      query: async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
        try {
          return await pool.query<R>(text, values);
        } catch (error) {
          throw unavailable(error);
        }
      },
    };
  }

  /** Connects, creates the schema if needed and migrates it to the current version. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = options.schema === undefined ? undefined : quoteIdentifier(options.schema);
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      types,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client that loses its server (a terminated backend) must not crash the process.
    pool.on('error', ignore);
    try {
      await PostgresStore.migrate(pool, schema);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresStore(pool, options.onFlush, options.unsafeTestingRouteWelcomeByAnyClaim === true);
  }

  private static async migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const row = (await client.query<{ version: number }>('SELECT version FROM schema_version')).rows[0];
      let version = row?.version ?? 0;
      if (!row) await client.query('INSERT INTO schema_version (version) VALUES (0)');
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(`database schema ${version} is newer than this server (${POSTGRES_SCHEMA_VERSION})`);
      }
      while (version < POSTGRES_SCHEMA_VERSION) {
        await client.query(postgresMigrations[version]!);
        version += 1;
        await client.query('UPDATE schema_version SET version = $1', [version]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** The schema version the database is at. */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.reads.query<{ version: number }>('SELECT version FROM schema_version');
    return rows[0]?.version ?? 0;
  }

  // ---- group commit ------------------------------------------------------------------

  private write<T>(
    run: (db: pg.ClientBase) => Promise<T>,
    together: { message: MessageInput } | { ack: AckInput } | Record<string, never> = {},
  ): Promise<T> {
    if (this.closed) return Promise.reject(new ApiError('unavailable', 'storage is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        run,
        resolve: resolve as (value: unknown) => void,
        reject,
        ...together,
      });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // One batch in flight at a time: writes arriving meanwhile form the next batch.
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.queue.length > 0) this.scheduleFlush();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const started = performance.now();
    let outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient | undefined;
      try {
        client = await this.pool.connect();
        // A backend terminated between two statements: the next statement fails and says so.
        client.on('error', ignore);
        outcomes = await this.runBatch(client, batch);
        client.off('error', ignore);
        client.release();
        break;
      } catch (error) {
        client?.off('error', ignore);
        client?.release(error instanceof Error ? error : true);
        if (attempt < MAX_BATCH_ATTEMPTS && RETRYABLE.has(pgCode(error) ?? '')) continue;
        const failure = unavailable(error);
        for (const op of batch) op.reject(failure);
        return;
      }
    }
    this.onFlush?.(batch.length, (performance.now() - started) / 1000);
    batch.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.error);
    });
  }

  private async runBatch(client: pg.ClientBase, batch: readonly QueuedWrite[]) {
    const outcomes: Outcome[] = [];
    await client.query('BEGIN');
    try {
      for (let i = 0; i < batch.length;) {
        // A run of acknowledgements: deletes cannot fail one by one, so no savepoint (a
        // transaction with thousands of them overflows PostgreSQL's subtransaction cache).
        let end = i;
        while (end < batch.length && batch[end]!.ack) end++;
        if (end > i) {
          const counts = await this.ackMany(
            client,
            batch.slice(i, end).map((op) => op.ack!),
          );
          for (const count of counts) outcomes.push({ ok: true, value: count });
          i = end;
          continue;
        }
        // A run of application messages goes in a few multi-row statements.
        while (end < batch.length && batch[end]!.message) end++;
        if (end - i > 1) {
          const inputs = batch.slice(i, end).map((op) => op.message!);
          const together = await this.inSavepoint(client, () => this.storeMessages(client, inputs));
          if (together.ok) {
            outcomes.push(...(together.value as Outcome[]));
            i = end;
            continue;
          }
          // A conflict with another node's write: store them one by one, each failing alone.
        }
        const last = Math.max(end, i + 1);
        for (; i < last; i++) outcomes.push(await this.inSavepoint(client, () => batch[i]!.run(client)));
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
    return outcomes;
  }

  /** Runs one write in a savepoint: its own failure rolls back alone. */
  private async inSavepoint(client: pg.ClientBase, run: () => Promise<unknown>): Promise<Outcome> {
    await client.query('SAVEPOINT w');
    try {
      const value = await run();
      await client.query('RELEASE SAVEPOINT w');
      return { ok: true, value };
    } catch (error) {
      // A write's own failure (a typed refusal, a unique key taken meanwhile) rolls back
      // alone; anything else (a deadlock, a lost connection) is the whole batch's.
      const code = pgCode(error);
      if (!(error instanceof ApiError) && !(code !== undefined && code.startsWith('23'))) throw error;
      await client.query('ROLLBACK TO SAVEPOINT w');
      return { ok: false, error };
    }
  }

  // ---- accounts ----------------------------------------------------------------------

  private async account(db: Queryable, row: AccountRow | undefined): Promise<AccountRecord | undefined> {
    if (!row) return undefined;
    const devices = await db.query<{ device_id: number; signature_key: Buffer }>(
      'SELECT device_id, signature_key FROM devices WHERE account_id = $1 ORDER BY device_id',
      [row.id],
    );
    return {
      id: row.id,
      username: row.username,
      identityKey: row.identity_key,
      sequence: BigInt(row.sequence),
      signedDeviceList: row.device_list,
      devices: devices.rows.map((d) => ({ deviceId: d.device_id, signatureKey: d.signature_key })),
      maxDeviceId: row.max_device_id,
      loggedSequence: BigInt(row.logged_sequence),
      createdAt: row.created_at,
    };
  }

  private async accountRow(db: Queryable, id: AccountId): Promise<AccountRow | undefined> {
    return (await db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [id])).rows[0];
  }

  async createAccount(account: NewAccount): Promise<AccountRecord> {
    return this.write(async (db) => {
      const taken = await db.query(
        'SELECT 1 FROM accounts WHERE skeleton = $1 UNION ALL SELECT 1 FROM username_tombstones WHERE skeleton = $1',
        [account.skeleton],
      );
      if (taken.rows.length > 0) throw new ApiError('username-taken', 'username: taken');
      if (account.inviteHash) {
        const used = await db.query(
          'UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = $1 AND uses_left > 0 AND expires_at > $2',
          [blob(account.inviteHash), account.now],
        );
        if (used.rowCount !== 1) throw new ApiError('invite-required', 'invite code: unknown or spent');
      }
      const maxDeviceId = Math.max(...account.devices.map((d) => d.deviceId));
      let row: AccountRow;
      try {
        row = (
          await db.query<AccountRow>(
            `INSERT INTO accounts (username, skeleton, identity_key, sequence, device_list, max_device_id, created_at)
             VALUES ($1, $2, $3, 1, $4, $5, $6) RETURNING *`,
            [
              account.username,
              account.skeleton,
              blob(account.identityKey),
              blob(account.signedDeviceList),
              maxDeviceId,
              account.now,
            ],
          )
        ).rows[0]!;
      } catch (error) {
        // Another node registered the same skeleton in the same instant.
        if (pgCode(error) === '23505') throw new ApiError('username-taken', 'username: taken');
        throw error;
      }
      await db.query(
        `INSERT INTO devices (account_id, device_id, signature_key)
         SELECT $1, * FROM unnest($2::int[], $3::bytea[])`,
        [row.id, account.devices.map((d) => d.deviceId), account.devices.map((d) => blob(d.signatureKey))],
      );
      return (await this.account(db, row))!;
    });
  }

  async accountByUsername(username: string): Promise<AccountRecord | undefined> {
    const { rows } = await this.reads.query<AccountRow>('SELECT * FROM accounts WHERE username = $1', [
      username,
    ]);
    return this.account(this.reads, rows[0]);
  }

  async accountById(id: AccountId): Promise<AccountRecord | undefined> {
    return this.account(this.reads, await this.accountRow(this.reads, id));
  }

  /** Removes a device's (or, with null, every device's) mailbox, packages, sessions and places. */
  private async removeDeviceData(db: pg.ClientBase, accountId: AccountId, deviceId: number | null) {
    const where = deviceId === null ? 'account_id = $1' : 'account_id = $1 AND device_id = $2';
    const args = deviceId === null ? [accountId] : [accountId, deviceId];
    const removed = await db.query<{ message_seq: number }>(
      `DELETE FROM mailbox_entries WHERE ${where} RETURNING message_seq`,
      args,
    );
    await this.dropReferences(
      db,
      removed.rows.map((r) => r.message_seq),
    );
    for (const table of ['key_packages', 'key_package_claims', 'sessions', 'group_members', 'sends']) {
      await db.query(`DELETE FROM ${table} WHERE ${where}`, args);
    }
  }

  /** One fewer entry for each message; a message goes with its last entry. */
  private async dropReferences(db: pg.ClientBase, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    // Rows locked in position order: nodes acknowledging entries of the same messages at once
    // (a group's members on several nodes) wait for each other instead of deadlocking.
    await db.query('SELECT 1 FROM messages WHERE seq = ANY($1::bigint[]) ORDER BY seq FOR UPDATE', [seqs]);
    const { rows } = await db.query<{ seq: number; remaining: number }>(
      `UPDATE messages m SET remaining = m.remaining - d.n
       FROM (SELECT seq, count(*)::int AS n FROM unnest($1::bigint[]) AS seq GROUP BY seq) d
       WHERE m.seq = d.seq RETURNING m.seq, m.remaining`,
      [seqs],
    );
    const done = rows.filter((r) => r.remaining <= 0).map((r) => r.seq);
    if (done.length > 0) await db.query('DELETE FROM messages WHERE seq = ANY($1::bigint[])', [done]);
  }

  async updateDeviceList(change: DeviceListChange): Promise<AccountRecord> {
    return this.write(async (db) => {
      const row = (
        await db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1 FOR UPDATE', [change.accountId])
      ).rows[0];
      const current = await this.account(db, row);
      if (!current) throw new ApiError('not-found', 'account: not found');
      if (current.sequence !== change.expectedSequence) {
        throw new ApiError('stale-sequence', 'device list: sequence is not current + 1');
      }
      const next = new Map(change.devices.map((d) => [d.deviceId, d]));
      for (const d of current.devices) {
        if (!next.has(d.deviceId)) {
          await db.query('DELETE FROM devices WHERE account_id = $1 AND device_id = $2', [
            change.accountId,
            d.deviceId,
          ]);
          await this.removeDeviceData(db, change.accountId, d.deviceId);
        }
      }
      const known = new Set(current.devices.map((d) => d.deviceId));
      let maxDeviceId = current.maxDeviceId;
      for (const d of change.devices) {
        if (!known.has(d.deviceId)) {
          await db.query('INSERT INTO devices (account_id, device_id, signature_key) VALUES ($1, $2, $3)', [
            change.accountId,
            d.deviceId,
            blob(d.signatureKey),
          ]);
          maxDeviceId = Math.max(maxDeviceId, d.deviceId);
        }
      }
      const updated = await db.query(
        'UPDATE accounts SET sequence = $1, device_list = $2, max_device_id = $3 WHERE id = $4 AND sequence = $5',
        [
          Number(change.sequence),
          blob(change.signedDeviceList),
          maxDeviceId,
          change.accountId,
          Number(change.expectedSequence),
        ],
      );
      if (updated.rowCount !== 1) throw new ApiError('stale-sequence', 'device list: changed concurrently');
      return (await this.account(db, await this.accountRow(db, change.accountId)))!;
    });
  }

  async deleteAccount(accountId: AccountId, now: number): Promise<void> {
    return this.write(async (db) => {
      const row = (
        await db.query<{ skeleton: string }>('SELECT skeleton FROM accounts WHERE id = $1 FOR UPDATE', [
          accountId,
        ])
      ).rows[0];
      if (!row) return;
      await this.removeDeviceData(db, accountId, null);
      await db.query('DELETE FROM devices WHERE account_id = $1', [accountId]);
      await db.query('DELETE FROM accounts WHERE id = $1', [accountId]);
      await db.query(
        'INSERT INTO username_tombstones (skeleton, deleted_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [row.skeleton, now],
      );
    });
  }

  async markLogged(accountId: AccountId, sequence: bigint): Promise<void> {
    return this.write(async (db) => {
      await db.query('UPDATE accounts SET logged_sequence = $1 WHERE id = $2 AND logged_sequence < $1', [
        Number(sequence),
        accountId,
      ]);
    });
  }

  async accountsAwaitingLog(): Promise<AccountRecord[]> {
    const { rows } = await this.reads.query<AccountRow>(
      'SELECT * FROM accounts WHERE logged_sequence < sequence',
    );
    return Promise.all(rows.map(async (row) => (await this.account(this.reads, row))!));
  }

  async appendAccountUpdate(update: AccountUpdate): Promise<void> {
    return this.write(async (db) => {
      await db.query(
        `INSERT INTO account_updates (username, version, device_list, at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username, version) DO NOTHING`,
        [
          update.username,
          Number(update.version),
          update.signedDeviceList ? blob(update.signedDeviceList) : null,
          update.at,
        ],
      );
    });
  }

  async accountUpdates(username: string): Promise<AccountUpdate[]> {
    const { rows } = await this.reads.query<AccountUpdateRow>(
      'SELECT seq, username, version, device_list, at FROM account_updates WHERE username = $1 ORDER BY seq',
      [username],
    );
    return rows.map(accountUpdateOf);
  }

  // ---- invites and sessions ----------------------------------------------------------

  async addInvites(codeHashes: readonly Uint8Array[], uses: number, expiresAt: number): Promise<void> {
    return this.write(async (db) => {
      await db.query(
        `INSERT INTO invites (code_hash, uses_left, expires_at)
         SELECT DISTINCT ON (h) h, $2::int, $3::bigint FROM unnest($1::bytea[]) AS h
         ON CONFLICT (code_hash) DO UPDATE SET uses_left = excluded.uses_left, expires_at = excluded.expires_at`,
        [codeHashes.map(blob), uses, expiresAt],
      );
    });
  }

  async accountUpdatesNotLogged(limit: number): Promise<(AccountUpdate & { readonly seq: number })[]> {
    const { rows } = await this.reads.query<AccountUpdateRow>(
      `SELECT seq, username, version, device_list, at FROM account_updates
       WHERE NOT kt_logged ORDER BY seq LIMIT $1`,
      [limit],
    );
    return rows.map(accountUpdateOf);
  }

  async markUpdatesLogged(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    return this.write(async (db) => {
      await db.query('UPDATE account_updates SET kt_logged = true WHERE seq = ANY($1::bigint[])', [seqs]);
    });
  }

  async addChallenge(nonceHash: Uint8Array, expiresAt: number): Promise<void> {
    return this.write(async (db) => {
      await db.query('INSERT INTO challenges (nonce_hash, expires_at) VALUES ($1, $2)', [
        blob(nonceHash),
        expiresAt,
      ]);
    });
  }

  async takeChallenge(nonceHash: Uint8Array): Promise<number | undefined> {
    return this.write(async (db) => {
      const { rows } = await db.query<{ expires_at: number }>(
        'DELETE FROM challenges WHERE nonce_hash = $1 RETURNING expires_at',
        [blob(nonceHash)],
      );
      return rows[0]?.expires_at;
    });
  }

  async createSession(tokenHash: Uint8Array, mailbox: MailboxKey, expiresAt: number): Promise<void> {
    return this.write(async (db) => {
      await db.query(
        'INSERT INTO sessions (token_hash, account_id, device_id, expires_at) VALUES ($1, $2, $3, $4)',
        [blob(tokenHash), mailbox.accountId, mailbox.deviceId, expiresAt],
      );
    });
  }

  async sessionByTokenHash(tokenHash: Uint8Array, now: number): Promise<SessionRecord | undefined> {
    const { rows } = await this.reads.query<{
      account_id: number;
      device_id: number;
      expires_at: number;
      username: string;
    }>(
      `SELECT s.account_id, s.device_id, s.expires_at, a.username FROM sessions s
       JOIN accounts a ON a.id = s.account_id
       JOIN devices d ON d.account_id = s.account_id AND d.device_id = s.device_id
       WHERE s.token_hash = $1 AND s.expires_at > $2`,
      [blob(tokenHash), now],
    );
    const row = rows[0];
    return row
      ? {
          accountId: row.account_id,
          deviceId: row.device_id,
          expiresAt: row.expires_at,
          username: row.username,
        }
      : undefined;
  }

  // ---- key packages ------------------------------------------------------------------

  private async count(db: Queryable, mailbox: MailboxKey, now: number): Promise<KeyPackageCount> {
    const { rows } = await db.query<{ one_time: number; last_resort: boolean }>(
      `SELECT count(*) FILTER (WHERE NOT last_resort)::int AS one_time,
              bool_or(last_resort) IS TRUE AS last_resort
       FROM key_packages WHERE account_id = $1 AND device_id = $2 AND not_after > $3`,
      [mailbox.accountId, mailbox.deviceId, now],
    );
    return { oneTime: rows[0]!.one_time, lastResort: rows[0]!.last_resort };
  }

  async addKeyPackages(input: {
    mailbox: MailboxKey;
    oneTime: readonly StoredKeyPackage[];
    lastResort?: StoredKeyPackage;
    maxOneTime: number;
    now: number;
  }): Promise<KeyPackageCount> {
    return this.write(async (db) => {
      const { accountId, deviceId } = input.mailbox;
      const existing = (await this.count(db, input.mailbox, input.now)).oneTime;
      if (existing + input.oneTime.length > input.maxOneTime) {
        throw new ApiError(
          'too-large',
          `key packages: at most ${input.maxOneTime} one-time packages per device`,
        );
      }
      const all = [
        ...(input.lastResort ? [{ kp: input.lastResort, lastResort: true }] : []),
        ...input.oneTime.map((kp) => ({ kp, lastResort: false })),
      ];
      const refs = all.map((p) => blob(p.kp.ref));
      const seen = await db.query(
        `SELECT 1 FROM key_packages WHERE ref = ANY($1::bytea[])
         UNION ALL SELECT 1 FROM key_package_claims WHERE ref = ANY($1::bytea[]) LIMIT 1`,
        [refs],
      );
      if (seen.rows.length > 0 || new Set(refs.map((r) => r.toString('hex'))).size !== refs.length) {
        throw new ApiError('conflict', 'key package: already uploaded');
      }
      if (input.lastResort) {
        await db.query('DELETE FROM key_packages WHERE account_id = $1 AND device_id = $2 AND last_resort', [
          accountId,
          deviceId,
        ]);
      }
      try {
        await db.query(
          `INSERT INTO key_packages (account_id, device_id, ref, body, last_resort, not_after, created_at)
           SELECT $1, $2, ref, body, last_resort, not_after, $3
           FROM unnest($4::bytea[], $5::bytea[], $6::boolean[], $7::bigint[])
             AS t (ref, body, last_resort, not_after)`,
          [
            accountId,
            deviceId,
            input.now,
            refs,
            all.map((p) => blob(p.kp.body)),
            all.map((p) => p.lastResort),
            all.map((p) => p.kp.notAfter),
          ],
        );
      } catch (error) {
        if (pgCode(error) === '23505') throw new ApiError('conflict', 'key package: already uploaded');
        throw error;
      }
      return this.count(db, input.mailbox, input.now);
    });
  }

  async countKeyPackages(mailbox: MailboxKey, now: number): Promise<KeyPackageCount> {
    return this.count(this.reads, mailbox, now);
  }

  async claimKeyPackages(input: {
    target: AccountId;
    deviceIds: readonly number[];
    claimer: MailboxKey;
    now: number;
    claimExpiresAt: number;
  }): Promise<ClaimResult[]> {
    return this.write(async (db) => {
      const results: ClaimResult[] = [];
      for (const deviceId of input.deviceIds) {
        // SKIP LOCKED: two nodes claiming at once get two different packages.
        let row = (
          await db.query<{ id: number; ref: Buffer; body: Buffer }>(
            `DELETE FROM key_packages WHERE id = (
               SELECT id FROM key_packages
               WHERE account_id = $1 AND device_id = $2 AND NOT last_resort AND not_after > $3
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, ref, body`,
            [input.target, deviceId, input.now],
          )
        ).rows[0];
        let lastResort = false;
        if (!row) {
          row = (
            await db.query<{ id: number; ref: Buffer; body: Buffer }>(
              `SELECT id, ref, body FROM key_packages
               WHERE account_id = $1 AND device_id = $2 AND last_resort AND not_after > $3`,
              [input.target, deviceId, input.now],
            )
          ).rows[0];
          lastResort = true;
        }
        if (!row) {
          results.push({ deviceId, lastResort: false });
          continue;
        }
        await db.query(
          `INSERT INTO key_package_claims
             (ref, account_id, device_id, claimed_by, claimed_by_device, claimed_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (ref, claimed_by, claimed_by_device) DO UPDATE SET claimed_at = excluded.claimed_at,
             expires_at = excluded.expires_at`,
          [
            row.ref,
            input.target,
            deviceId,
            input.claimer.accountId,
            input.claimer.deviceId,
            input.now,
            input.claimExpiresAt,
          ],
        );
        results.push({ deviceId, keyPackage: row.body, lastResort });
      }
      return results;
    });
  }

  // ---- groups and messages -----------------------------------------------------------

  private async names(db: Queryable, groupId: Buffer, epoch: number): Promise<RoutingList> {
    const { rows } = await db.query<{ username: string; device_id: number }>(
      `SELECT a.username, m.device_id FROM group_members m JOIN accounts a ON a.id = m.account_id
       WHERE m.group_id = $1 ORDER BY a.username COLLATE "C", m.device_id`,
      [groupId],
    );
    return {
      epoch: BigInt(epoch),
      members: rows.map((r): MailboxName => ({ username: r.username, deviceId: r.device_id })),
    };
  }

  async createGroup(groupId: Uint8Array, creator: MailboxKey, now: number): Promise<RoutingList> {
    return this.write(async (db) => {
      const id = blob(groupId);
      const inserted = await db.query(
        'INSERT INTO groups (id, epoch, created_at) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING',
        [id, now],
      );
      if (inserted.rowCount !== 1) throw new ApiError('conflict', 'group id: taken');
      await db.query('INSERT INTO group_members (group_id, account_id, device_id) VALUES ($1, $2, $3)', [
        id,
        creator.accountId,
        creator.deviceId,
      ]);
      return this.names(db, id, 0);
    });
  }

  /** The group's epoch and routing list, if `member` is on it; 'forbidden' otherwise. */
  private async membership(
    db: Queryable,
    id: Buffer,
    member: MailboxKey,
  ): Promise<{ epoch: number; members: MailboxKey[] }> {
    const { rows } = await db.query<{ epoch: number; account_id: number | null; device_id: number | null }>(
      `SELECT g.epoch, m.account_id, m.device_id FROM groups g
       LEFT JOIN group_members m ON m.group_id = g.id WHERE g.id = $1`,
      [id],
    );
    const members = rows
      .filter((r) => r.account_id !== null && r.device_id !== null)
      .map((r) => ({ accountId: r.account_id!, deviceId: r.device_id! }));
    // Unknown groups and groups one is not on get the same answer.
    if (!members.some((m) => m.accountId === member.accountId && m.deviceId === member.deviceId)) {
      throw new ApiError('forbidden', 'group: not on its routing list');
    }
    return { epoch: rows[0]!.epoch, members };
  }

  async routingList(groupId: Uint8Array, member: MailboxKey): Promise<RoutingList> {
    const id = blob(groupId);
    return this.names(this.reads, id, (await this.membership(this.reads, id, member)).epoch);
  }

  /**
   * The entries of an earlier send still waiting in mailboxes, to announce again: the node
   * that stored them may have died before it announced them, and its client resent.
   */
  private async waiting(
    db: pg.ClientBase,
    kind: DeliveryKind,
    messageIds: readonly Uint8Array[],
  ): Promise<Map<number, AcceptedSend['deliveries'][number]>> {
    const bySeq = new Map<number, { kind: DeliveryKind; messageId: Uint8Array; fanout: Fanout[] }>();
    for (const messageId of messageIds) {
      const seq = seqOf(messageId);
      if (seq !== undefined) bySeq.set(seq, { kind, messageId, fanout: [] });
    }
    if (bySeq.size === 0) return bySeq;
    const { rows } = await db.query<{ message_seq: number; account_id: number; device_id: number }>(
      'SELECT message_seq, account_id, device_id FROM mailbox_entries WHERE message_seq = ANY($1::bigint[])',
      [[...bySeq.keys()]],
    );
    for (const r of rows) {
      bySeq.get(r.message_seq)!.fanout.push({
        mailbox: { accountId: r.account_id, deviceId: r.device_id },
        seq: r.message_seq,
      });
    }
    return bySeq;
  }

  private async previousSend(
    db: pg.ClientBase,
    input: MessageInput | CommitInput,
    kind: DeliveryKind,
  ): Promise<AcceptedSend | undefined> {
    const { sender } = input;
    const row = (
      await db.query<{ content_hash: Buffer; message_id: Buffer; epoch: number; accepted_at: number }>(
        `SELECT content_hash, message_id, epoch, accepted_at FROM sends
         WHERE account_id = $1 AND device_id = $2 AND client_id = $3`,
        [sender.accountId, sender.deviceId, blob(input.clientId)],
      )
    ).rows[0];
    if (!row) return undefined;
    if (!sameBytes(row.content_hash, input.contentHash)) {
      throw new ApiError('conflict', 'client id: reused with different content');
    }
    const delivery = (await this.waiting(db, kind, [row.message_id])).get(seqOf(row.message_id) ?? 0);
    return {
      messageId: row.message_id,
      epoch: BigInt(row.epoch),
      acceptedAt: row.accepted_at,
      duplicate: true,
      deliveries: delivery && delivery.fanout.length > 0 ? [delivery] : [],
    };
  }

  /** Stores a body once and one entry per recipient, in two statements. */
  private async deliver(
    db: pg.ClientBase,
    kind: DeliveryKind,
    body: Uint8Array,
    recipients: readonly MailboxKey[],
    input: MessageInput | CommitInput,
  ) {
    const tag = randomBytes(8);
    const fanout: Fanout[] = [];
    let seq: number;
    if (recipients.length > 0) {
      seq = (
        await db.query<{ seq: number }>(
          `INSERT INTO messages (seq, kind, body, received_at, expires_at, remaining, tag)
           VALUES (nextval('message_seq'), $1, $2, $3, $4, $5, $6) RETURNING seq`,
          [kindCodes[kind], blob(body), input.now, input.expiresAt, recipients.length, tag],
        )
      ).rows[0]!.seq;
      await db.query(
        `INSERT INTO mailbox_entries (account_id, device_id, message_seq)
         SELECT a, d, $3 FROM unnest($1::int[], $2::int[]) AS t (a, d)`,
        [recipients.map((r) => r.accountId), recipients.map((r) => r.deviceId), seq],
      );
      for (const r of recipients) fanout.push({ mailbox: r, seq });
    } else {
      seq = (await db.query<{ seq: number }>("SELECT nextval('message_seq') AS seq")).rows[0]!.seq;
    }
    return { kind, messageId: messageIdOf(seq, tag), fanout };
  }

  private async recordSend(
    db: pg.ClientBase,
    input: MessageInput | CommitInput,
    messageId: Uint8Array,
    epoch: number,
  ): Promise<void> {
    await db.query(
      `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        input.sender.accountId,
        input.sender.deviceId,
        blob(input.clientId),
        blob(input.contentHash),
        blob(messageId),
        epoch,
        input.now,
        input.expiresAt,
      ],
    );
  }

  private static others(members: readonly MailboxKey[], sender: MailboxKey): MailboxKey[] {
    return members.filter((m) => !(m.accountId === sender.accountId && m.deviceId === sender.deviceId));
  }

  async storeMessage(input: MessageInput): Promise<AcceptedSend> {
    return this.write(
      async (db) => {
        const previous = await this.previousSend(db, input, 'message');
        if (previous) return previous;
        const { epoch, members } = await this.membership(db, blob(input.groupId), input.sender);
        const delivery = await this.deliver(
          db,
          'message',
          input.body,
          PostgresStore.others(members, input.sender),
          input,
        );
        await this.recordSend(db, input, delivery.messageId, epoch);
        return {
          messageId: delivery.messageId,
          epoch: BigInt(epoch),
          acceptedAt: input.now,
          duplicate: false,
          deliveries: [delivery],
        };
      },
      { message: input },
    );
  }

  /**
   * Stores many application messages in seven statements, with the same checks as
   * storeMessage: idempotency by client id (also within the run), routing-list membership.
   * Each message's outcome is returned in order; a failed check fails only its message.
   */
  private async storeMessages(db: pg.ClientBase, inputs: readonly MessageInput[]): Promise<Outcome[]> {
    const sendKey = (a: number, d: number, clientId: Uint8Array) =>
      `${a}/${d}/${blob(clientId).toString('hex')}`;
    const previous = await db.query<{
      account_id: number;
      device_id: number;
      client_id: Buffer;
      content_hash: Buffer;
      message_id: Buffer;
      epoch: number;
      accepted_at: number;
    }>(
      `SELECT s.account_id, s.device_id, s.client_id, s.content_hash, s.message_id, s.epoch, s.accepted_at
       FROM sends s JOIN unnest($1::int[], $2::int[], $3::bytea[]) AS k (a, d, c)
         ON s.account_id = k.a AND s.device_id = k.d AND s.client_id = k.c`,
      [
        inputs.map((m) => m.sender.accountId),
        inputs.map((m) => m.sender.deviceId),
        inputs.map((m) => blob(m.clientId)),
      ],
    );
    const waiting = await this.waiting(
      db,
      'message',
      previous.rows.map((r) => r.message_id),
    );
    const sends = new Map<string, { contentHash: Uint8Array; answer: AcceptedSend }>(
      previous.rows.map((r) => {
        const delivery = waiting.get(seqOf(r.message_id) ?? 0);
        return [
          sendKey(r.account_id, r.device_id, r.client_id),
          {
            contentHash: r.content_hash,
            answer: {
              messageId: r.message_id,
              epoch: BigInt(r.epoch),
              acceptedAt: r.accepted_at,
              duplicate: true,
              deliveries: delivery && delivery.fanout.length > 0 ? [delivery] : [],
            },
          },
        ];
      }),
    );
    const groupIds = [...new Set(inputs.map((m) => blob(m.groupId).toString('hex')))];
    const membership = await db.query<{
      id: Buffer;
      epoch: number;
      account_id: number | null;
      device_id: number | null;
    }>(
      `SELECT g.id, g.epoch, m.account_id, m.device_id FROM groups g
       LEFT JOIN group_members m ON m.group_id = g.id WHERE g.id = ANY($1::bytea[])`,
      [groupIds.map((hex) => Buffer.from(hex, 'hex'))],
    );
    const groups = new Map<string, { epoch: number; members: MailboxKey[] }>();
    for (const r of membership.rows) {
      const key = r.id.toString('hex');
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { epoch: r.epoch, members: [] }));
      if (r.account_id !== null && r.device_id !== null) {
        group.members.push({ accountId: r.account_id, deviceId: r.device_id });
      }
    }

    const outcomes: Outcome[] = [];
    const fresh: { index: number; input: MessageInput; epoch: number; recipients: MailboxKey[] }[] = [];
    for (const input of inputs) {
      const key = sendKey(input.sender.accountId, input.sender.deviceId, input.clientId);
      const earlier = sends.get(key);
      if (earlier) {
        outcomes.push(
          sameBytes(earlier.contentHash, input.contentHash)
            ? { ok: true, value: earlier.answer }
            : { ok: false, error: new ApiError('conflict', 'client id: reused with different content') },
        );
        // One announcement per run is enough.
        earlier.answer = { ...earlier.answer, deliveries: [] };
        continue;
      }
      const group = groups.get(blob(input.groupId).toString('hex'));
      const { accountId, deviceId } = input.sender;
      if (!group?.members.some((m) => m.accountId === accountId && m.deviceId === deviceId)) {
        outcomes.push({ ok: false, error: new ApiError('forbidden', 'group: not on its routing list') });
        continue;
      }
      fresh.push({
        index: outcomes.length,
        input,
        epoch: group.epoch,
        recipients: PostgresStore.others(group.members, input.sender),
      });
      outcomes.push({ ok: true, value: undefined }); // filled in below
      // A resend later in this run is answered as this one.
      sends.set(key, { contentHash: input.contentHash, answer: undefined as unknown as AcceptedSend });
    }
    if (fresh.length === 0) return outcomes;

    const seqs = (
      await db.query<{ seq: number }>(
        "SELECT nextval('message_seq') AS seq FROM generate_series(1, $1::int)",
        [fresh.length],
      )
    ).rows
      .map((r) => r.seq)
      .sort((a, b) => a - b);
    const stored = fresh.map((f, i) => ({ ...f, seq: seqs[i]!, tag: randomBytes(8) }));
    const withRecipients = stored.filter((m) => m.recipients.length > 0);
    if (withRecipients.length > 0) {
      await db.query(
        `INSERT INTO messages (seq, kind, body, received_at, expires_at, remaining, tag)
         SELECT seq, $1, body, received_at, expires_at, remaining, tag
         FROM unnest($2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::int[], $7::bytea[])
           AS t (seq, body, received_at, expires_at, remaining, tag)`,
        [
          kindCodes.message,
          withRecipients.map((m) => m.seq),
          withRecipients.map((m) => blob(m.input.body)),
          withRecipients.map((m) => m.input.now),
          withRecipients.map((m) => m.input.expiresAt),
          withRecipients.map((m) => m.recipients.length),
          withRecipients.map((m) => m.tag),
        ],
      );
      const entries = withRecipients.flatMap((m) => m.recipients.map((r) => ({ r, seq: m.seq })));
      await db.query(
        `INSERT INTO mailbox_entries (account_id, device_id, message_seq)
         SELECT * FROM unnest($1::int[], $2::int[], $3::bigint[])`,
        [entries.map((e) => e.r.accountId), entries.map((e) => e.r.deviceId), entries.map((e) => e.seq)],
      );
    }
    await db.query(
      `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
       SELECT * FROM unnest($1::int[], $2::int[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bigint[],
         $7::bigint[], $8::bigint[])`,
      [
        stored.map((m) => m.input.sender.accountId),
        stored.map((m) => m.input.sender.deviceId),
        stored.map((m) => blob(m.input.clientId)),
        stored.map((m) => blob(m.input.contentHash)),
        stored.map((m) => blob(messageIdOf(m.seq, m.tag))),
        stored.map((m) => m.epoch),
        stored.map((m) => m.input.now),
        stored.map((m) => m.input.expiresAt),
      ],
    );
    const answers = new Map<string, AcceptedSend>();
    for (const m of stored) {
      const messageId = messageIdOf(m.seq, m.tag);
      const answer: AcceptedSend = {
        messageId,
        epoch: BigInt(m.epoch),
        acceptedAt: m.input.now,
        duplicate: false,
        deliveries: [
          { kind: 'message', messageId, fanout: m.recipients.map((mailbox) => ({ mailbox, seq: m.seq })) },
        ],
      };
      outcomes[m.index] = { ok: true, value: answer };
      answers.set(sendKey(m.input.sender.accountId, m.input.sender.deviceId, m.input.clientId), answer);
    }
    // Resends within the run get the first one's answer, as a duplicate.
    inputs.forEach((input, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok && outcome.value === undefined) {
        const first = answers.get(sendKey(input.sender.accountId, input.sender.deviceId, input.clientId))!;
        outcomes[i] = { ok: true, value: { ...first, duplicate: true, deliveries: [] } };
      }
    });
    return outcomes;
  }

  async sequenceCommit(input: CommitInput): Promise<AcceptedSend> {
    return this.write(async (db) => {
      // Announced again: the commit only (its Welcome waits for the new member's next read).
      const previous = await this.previousSend(db, input, 'commit');
      if (previous) return previous;
      const id = blob(input.groupId);
      const expected = Number(input.epoch);
      // The compare-and-set comes first: it takes the group's row lock, so the routing list
      // read below cannot change until this transaction ends.
      const advanced = await db.query('UPDATE groups SET epoch = epoch + 1 WHERE id = $1 AND epoch = $2', [
        id,
        expected,
      ]);
      const { members } = await this.membership(db, id, input.sender);
      if (advanced.rowCount !== 1) throw new ApiError('stale-epoch', 'commit: not for the current epoch');

      // The Welcome's references, through the committing device's own claims (a claim made
      // before schema 3 has no claiming device and so matches no committer).
      const refs = (input.welcome?.keyPackageRefs ?? []).map(blob);
      const claims =
        refs.length === 0
          ? []
          : (
              await db.query<ClaimRow>(
                `SELECT ref, account_id, device_id FROM key_package_claims
                 WHERE ref = ANY($1::bytea[]) AND expires_at > $2
                   AND ($3 OR (claimed_by = $4 AND claimed_by_device = $5))`,
                [refs, input.now, this.routeWelcomeByAnyClaim, input.sender.accountId, input.sender.deviceId],
              )
            ).rows;
      const added = welcomeRecipients(refs, claims);
      const removed: MailboxKey[] = [];
      if (input.remove.length > 0) {
        const { rows } = await db.query<{ id: number; username: string }>(
          'SELECT id, username FROM accounts WHERE username = ANY($1::text[])',
          [input.remove.map((r) => r.username)],
        );
        const ids = new Map(rows.map((r) => [r.username, r.id]));
        for (const name of input.remove) {
          const accountId = ids.get(name.username);
          // A mailbox already gone (deleted account or device) needs no removal.
          if (accountId !== undefined) removed.push({ accountId, deviceId: name.deviceId });
        }
      }
      if (
        removed.some((r) => r.accountId === input.sender.accountId && r.deviceId === input.sender.deviceId)
      ) {
        throw new ApiError('malformed', 'commit: the committer cannot remove itself');
      }

      const commit = await this.deliver(
        db,
        'commit',
        input.commit,
        PostgresStore.others(members, input.sender),
        input,
      );
      if (removed.length > 0) {
        await db.query(
          `DELETE FROM group_members m USING unnest($2::int[], $3::int[]) AS r (a, d)
           WHERE m.group_id = $1 AND m.account_id = r.a AND m.device_id = r.d`,
          [id, removed.map((r) => r.accountId), removed.map((r) => r.deviceId)],
        );
      }
      if (added.length > 0) {
        await db.query(
          `INSERT INTO group_members (group_id, account_id, device_id)
           SELECT $1, a, d FROM unnest($2::int[], $3::int[]) AS t (a, d) ON CONFLICT DO NOTHING`,
          [id, added.map((r) => r.accountId), added.map((r) => r.deviceId)],
        );
      }
      const count = (
        await db.query<{ n: number }>('SELECT count(*)::int AS n FROM group_members WHERE group_id = $1', [
          id,
        ])
      ).rows[0]!.n;
      if (count > input.maxMembers)
        throw new ApiError('too-large', `group: over ${input.maxMembers} mailboxes`);
      const deliveries = [commit];
      if (input.welcome && added.length > 0) {
        deliveries.push(await this.deliver(db, 'welcome', input.welcome.body, added, input));
      }
      const next = expected + 1;
      await this.recordSend(db, input, commit.messageId, next);
      return {
        messageId: commit.messageId,
        epoch: BigInt(next),
        acceptedAt: input.now,
        duplicate: false,
        deliveries,
      };
    });
  }

  async pendingDeliveries(
    mailbox: MailboxKey,
    afterSeq: number,
    limit: number,
    now: number,
    excluding: readonly number[] = [],
  ): Promise<StoredDelivery[]> {
    const { rows } = await this.reads.query<{
      seq: number;
      tag: Buffer;
      kind: number;
      body: Buffer;
      received_at: number;
    }>(
      `SELECT m.seq, m.tag, m.kind, m.body, m.received_at FROM mailbox_entries e
       JOIN messages m ON m.seq = e.message_seq
       WHERE e.account_id = $1 AND e.device_id = $2 AND e.message_seq > $3 AND m.expires_at > $4
         AND NOT (e.message_seq = ANY($6::bigint[]))
       ORDER BY e.message_seq LIMIT $5`,
      [mailbox.accountId, mailbox.deviceId, afterSeq, now, limit, excluding],
    );
    return rows.map((r) => ({
      seq: r.seq,
      messageId: messageIdOf(r.seq, r.tag),
      kind: kindNames[r.kind]!,
      body: r.body,
      receivedAt: r.received_at,
    }));
  }

  async ack(mailbox: MailboxKey, messageIds: readonly Uint8Array[]): Promise<number> {
    const seqs = messageIds.map(seqOf).filter((s): s is number => s !== undefined);
    if (seqs.length === 0) return 0;
    const input = { mailbox, seqs };
    return this.write(async (db) => (await this.ackMany(db, [input]))[0]!, { ack: input });
  }

  /**
   * Deletes the acknowledged entries of several mailboxes in one statement (only entries of
   * the acknowledging mailbox can match: another device's ids delete nothing), then drops the
   * messages no entry refers to any more. Returns how many entries each acknowledgement
   * removed; an entry acknowledged twice in one batch counts for the first.
   */
  private async ackMany(db: pg.ClientBase, acks: readonly AckInput[]): Promise<number[]> {
    const accounts: number[] = [];
    const devices: number[] = [];
    const seqs: number[] = [];
    for (const ack of acks) {
      for (const seq of ack.seqs) {
        accounts.push(ack.mailbox.accountId);
        devices.push(ack.mailbox.deviceId);
        seqs.push(seq);
      }
    }
    const removed = await db.query<{ account_id: number; device_id: number; message_seq: number }>(
      `DELETE FROM mailbox_entries e
       USING unnest($1::integer[], $2::integer[], $3::bigint[]) AS a(account_id, device_id, seq)
       WHERE e.account_id = a.account_id AND e.device_id = a.device_id AND e.message_seq = a.seq
       RETURNING e.account_id, e.device_id, e.message_seq`,
      [accounts, devices, seqs],
    );
    await this.dropReferences(
      db,
      removed.rows.map((r) => r.message_seq),
    );
    const gone = new Set(removed.rows.map((r) => `${r.account_id}/${r.device_id}/${r.message_seq}`));
    return acks.map((ack) => {
      let count = 0;
      for (const seq of ack.seqs) {
        if (gone.delete(`${ack.mailbox.accountId}/${ack.mailbox.deviceId}/${seq}`)) count++;
      }
      return count;
    });
  }

  // ---- attachments and maintenance ---------------------------------------------------

  async createAttachment(record: AttachmentRecord, owner: MailboxKey): Promise<void> {
    return this.write(async (db) => {
      await db.query(
        `INSERT INTO attachments (id, token_hash, account_id, device_id, size, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          blob(record.id),
          blob(record.tokenHash),
          owner.accountId,
          owner.deviceId,
          record.size,
          record.createdAt,
          record.expiresAt,
        ],
      );
    });
  }

  async attachment(id: Uint8Array, now: number): Promise<AttachmentRecord | undefined> {
    const { rows } = await this.reads.query<{
      id: Buffer;
      token_hash: Buffer;
      size: number;
      created_at: number;
      expires_at: number;
    }>('SELECT * FROM attachments WHERE id = $1 AND expires_at > $2', [blob(id), now]);
    const row = rows[0];
    return row
      ? {
          id: row.id,
          tokenHash: row.token_hash,
          size: row.size,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      : undefined;
  }

  async purgeExpired(now: number): Promise<PurgeResult> {
    return this.write(async (db) => {
      const messages = (await db.query('DELETE FROM messages WHERE expires_at <= $1', [now])).rowCount ?? 0;
      const entries =
        (
          await db.query(
            'DELETE FROM mailbox_entries e WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.seq = e.message_seq)',
          )
        ).rowCount ?? 0;
      const attachments = (
        await db.query<{ id: Buffer }>('DELETE FROM attachments WHERE expires_at <= $1 RETURNING id', [now])
      ).rows.map((r) => new Uint8Array(r.id));
      for (const [table, column] of [
        ['sends', 'expires_at'],
        ['sessions', 'expires_at'],
        ['challenges', 'expires_at'],
        ['key_packages', 'not_after'],
        ['key_package_claims', 'expires_at'],
        ['invites', 'expires_at'],
      ] as const) {
        await db.query(`DELETE FROM ${table} WHERE ${column} <= $1`, [now]);
      }
      return { messages, entries, attachments };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued writes land before closing.
    while (this.queue.length > 0 || this.flushing || this.flushScheduled) {
      await (this.flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
    this.closed = true;
    await this.pool.end();
  }
}
