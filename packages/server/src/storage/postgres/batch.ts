// PostgreSQL: how one group commit runs. The batch is one transaction, each write in its own
// savepoint so that a write's own failure rolls back alone; runs of acknowledgements and of
// application messages go in a few multi-row statements instead. A deadlock or serialization
// failure runs the whole batch again; any other failure of the database fails it.
import type pg from 'pg';
import { ApiError } from '@ghostproof/api';
import type { Outcome } from '../group-commit-queue.js';
import type { MailboxKey, MessageInput } from '../store.js';
import { ignore, pgCode, unavailable } from './connection.js';

/** Acknowledged entries of one mailbox, by position. */
export interface AckInput {
  readonly mailbox: MailboxKey;
  readonly seqs: readonly number[];
}

/** One queued write. */
export interface PostgresWrite {
  readonly run: (db: pg.ClientBase) => Promise<unknown>;
  /** Set for application messages: consecutive ones are stored together in a few statements. */
  readonly message?: MessageInput;
  /** Set for acknowledgements: consecutive ones are deleted together, in three statements. */
  readonly ack?: AckInput;
}

/** The statements that do a run of writes together. */
export interface RunsTogether {
  ackMany(db: pg.ClientBase, acks: readonly AckInput[]): Promise<number[]>;
  storeMessages(db: pg.ClientBase, inputs: readonly MessageInput[]): Promise<Outcome[]>;
}

/** PostgreSQL errors after which the whole batch may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_BATCH_ATTEMPTS = 3;

/** Runs a batch on a client of `pool`; throws 'unavailable' when it could not commit. */
export async function runBatch(
  pool: pg.Pool,
  together: RunsTogether,
  batch: readonly PostgresWrite[],
): Promise<Outcome[]> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      // A backend terminated between two statements: the next statement fails and says so.
      client.on('error', ignore);
      const outcomes = await inTransaction(client, together, batch);
      client.off('error', ignore);
      client.release();
      return outcomes;
    } catch (error) {
      client?.off('error', ignore);
      client?.release(error instanceof Error ? error : true);
      if (attempt < MAX_BATCH_ATTEMPTS && RETRYABLE.has(pgCode(error) ?? '')) continue;
      throw unavailable(error);
    }
  }
}

async function inTransaction(
  client: pg.ClientBase,
  together: RunsTogether,
  batch: readonly PostgresWrite[],
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  await client.query('BEGIN');
  try {
    for (let i = 0; i < batch.length;) {
      // A run of acknowledgements: deletes cannot fail one by one, so no savepoint (a
      // transaction with thousands of them overflows PostgreSQL's subtransaction cache).
      let end = i;
      while (end < batch.length && batch[end]!.ack) end++;
      if (end > i) {
        const counts = await together.ackMany(
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
        const stored = await inSavepoint(client, () => together.storeMessages(client, inputs));
        if (stored.ok) {
          outcomes.push(...(stored.value as Outcome[]));
          i = end;
          continue;
        }
        // A conflict with another node's write: store them one by one, each failing alone.
      }
      const last = Math.max(end, i + 1);
      for (; i < last; i++) outcomes.push(await inSavepoint(client, () => batch[i]!.run(client)));
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
  return outcomes;
}

/** Runs one write in a savepoint: its own failure rolls back alone. */
async function inSavepoint(client: pg.ClientBase, run: () => Promise<unknown>): Promise<Outcome> {
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
