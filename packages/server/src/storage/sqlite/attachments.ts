// SQLite: attachment records (the blobs live on disk, the caller's) and the expiry purge of
// every table, attachments included: the purge hands back the ids whose files must go.
import type Database from 'better-sqlite3';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { AttachmentRecord, MailboxKey, PurgeResult } from '../store.js';

export class SqliteAttachments {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      insertAttachment: db.prepare(
        `INSERT INTO attachments (id, token_hash, account_id, device_id, size, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      attachmentById: db.prepare('SELECT * FROM attachments WHERE id = ? AND expires_at > ?'),
    };
  }

  create(record: AttachmentRecord, owner: MailboxKey): void {
    this.s.insertAttachment.run(...rules.attachmentValues(record, owner));
  }

  byId(id: Uint8Array, now: number): AttachmentRecord | undefined {
    return rules.attachmentOf(this.s.attachmentById.get(blob(id), now) as rules.AttachmentRow | undefined);
  }

  purgeExpired(now: number): PurgeResult {
    const db = this.db;
    const messages = db.prepare('DELETE FROM messages WHERE expires_at <= ?').run(now).changes;
    // Entries of expired messages (a scan of the entries: they are few once delivered).
    const entries = db
      .prepare(
        'DELETE FROM mailbox_entries WHERE NOT EXISTS (SELECT 1 FROM messages WHERE seq = message_seq)',
      )
      .run().changes;
    const attachments = (
      db.prepare('SELECT id FROM attachments WHERE expires_at <= ?').all(now) as { id: Buffer }[]
    ).map((r) => new Uint8Array(r.id));
    db.prepare('DELETE FROM attachments WHERE expires_at <= ?').run(now);
    for (const [table, column] of rules.EXPIRING)
      db.prepare(`DELETE FROM ${table} WHERE ${column} <= ?`).run(now);
    return { messages, entries, attachments };
  }
}
