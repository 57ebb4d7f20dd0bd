// PostgreSQL: attachment records (the blobs live on disk, the caller's) and the expiry purge
// of every table, attachments included: the purge hands back the ids whose files must go.
import type pg from 'pg';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { AttachmentRecord, MailboxKey, PurgeResult } from '../store.js';
import type { Queryable } from './connection.js';

export async function createAttachment(
  db: pg.ClientBase,
  record: AttachmentRecord,
  owner: MailboxKey,
): Promise<void> {
  await db.query(
    `INSERT INTO attachments (id, token_hash, account_id, device_id, size, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    rules.attachmentValues(record, owner),
  );
}

export async function attachment(
  db: Queryable,
  id: Uint8Array,
  now: number,
): Promise<AttachmentRecord | undefined> {
  const { rows } = await db.query<rules.AttachmentRow>(
    'SELECT * FROM attachments WHERE id = $1 AND expires_at > $2',
    [blob(id), now],
  );
  return rules.attachmentOf(rows[0]);
}

export async function purgeExpired(db: pg.ClientBase, now: number): Promise<PurgeResult> {
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
  for (const [table, column] of rules.EXPIRING)
    await db.query(`DELETE FROM ${table} WHERE ${column} <= $1`, [now]);
  return { messages, entries, attachments };
}
