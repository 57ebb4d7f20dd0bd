// PostgreSQL: reading and emptying mailboxes. A message's body is stored once with a count of
// the entries that refer to it; it goes with its last entry.
import type pg from 'pg';
import * as rules from '../rules.js';
import type { MailboxKey, StoredDelivery } from '../store.js';
import type { AckInput } from './batch.js';
import type { Queryable } from './connection.js';

export async function pendingDeliveries(
  db: Queryable,
  mailbox: MailboxKey,
  afterSeq: number,
  limit: number,
  now: number,
  excluding: readonly number[] = [],
): Promise<StoredDelivery[]> {
  const { rows } = await db.query<rules.PendingRow>(
    `SELECT m.seq, m.tag, m.kind, m.body, m.received_at FROM mailbox_entries e
     JOIN messages m ON m.seq = e.message_seq
     WHERE e.account_id = $1 AND e.device_id = $2 AND e.message_seq > $3 AND m.expires_at > $4
       AND NOT (e.message_seq = ANY($6::bigint[]))
     ORDER BY e.message_seq LIMIT $5`,
    [mailbox.accountId, mailbox.deviceId, afterSeq, now, limit, excluding],
  );
  return rows.map(rules.storedDeliveryOf);
}

/** One fewer entry for each message; a message goes with its last entry. */
export async function dropReferences(db: pg.ClientBase, seqs: readonly number[]): Promise<void> {
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

/**
 * Deletes the acknowledged entries of several mailboxes in one statement (only entries of
 * the acknowledging mailbox can match: another device's ids delete nothing), then drops the
 * messages no entry refers to any more. Returns how many entries each acknowledgement
 * removed; an entry acknowledged twice in one batch counts for the first.
 */
export async function ackMany(db: pg.ClientBase, acks: readonly AckInput[]): Promise<number[]> {
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
  await dropReferences(
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
