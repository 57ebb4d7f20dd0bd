// SQLite: messages, mailbox entries and the idempotency records of sends. Runs inside the
// group commit's transaction (each call in its own savepoint), so the checks and writes of
// one send are atomic. Message positions come from a counter in memory that the group commit
// saves in `meta`, so a position is never handed out twice, even after a crash.
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { blob, messageIdOf, seqOf } from '../ids.js';
import * as rules from '../rules.js';
import type {
  AcceptedSend,
  AccountId,
  CommitInput,
  DeliveryKind,
  Fanout,
  MailboxKey,
  MessageInput,
  StoredDelivery,
} from '../store.js';
import type { SqliteGroups } from './groups.js';

/** Random bytes drawn in blocks: one system call per 512 ids rather than one each. */
class RandomPool {
  private pool = Buffer.alloc(0);
  private offset = 0;

  take(length: number): Buffer {
    if (this.offset + length > this.pool.length) {
      this.pool = randomBytes(8192);
      this.offset = 0;
    }
    const out = Buffer.from(this.pool.subarray(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }
}

/** What a commit needs from the other table families. */
export interface CommitLookups {
  /** The committing device's own live claims of these refs. */
  claimsOf(refs: readonly Uint8Array[], sender: MailboxKey, now: number): rules.ClaimRow[];
  /** Account ids of these usernames, for the ones that exist. */
  accountIds(usernames: readonly string[]): Map<string, number>;
}

export class SqliteDelivery {
  private readonly s;
  private readonly random = new RandomPool();
  /** Next message position; persisted in meta at every group commit, so never reused. */
  private nextSeq: number;
  private savedSeq: number;

  constructor(
    db: Database.Database,
    private readonly groups: SqliteGroups,
    private readonly lookups: CommitLookups,
  ) {
    this.s = {
      sendById: db.prepare(
        'SELECT content_hash, message_id, epoch, accepted_at FROM sends WHERE account_id = ? AND device_id = ? AND client_id = ?',
      ),
      insertSend: db.prepare(
        `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertMessage: db.prepare(
        'INSERT INTO messages (seq, kind, body, received_at, expires_at, remaining, tag) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertEntry: db.prepare(
        'INSERT INTO mailbox_entries (account_id, device_id, message_seq) VALUES (?, ?, ?)',
      ),
      saveNextSeq: db.prepare("UPDATE meta SET value = ? WHERE key = 'next_message_seq'"),
      pending: db.prepare(
        `SELECT m.seq, m.tag, m.kind, m.body, m.received_at FROM mailbox_entries e
         JOIN messages m ON m.seq = e.message_seq
         WHERE e.account_id = ? AND e.device_id = ? AND e.message_seq > ? AND m.expires_at > ?
           AND e.message_seq NOT IN (SELECT value FROM json_each(?))
         ORDER BY e.message_seq LIMIT ?`,
      ),
      deleteEntry: db.prepare(
        'DELETE FROM mailbox_entries WHERE account_id = ? AND device_id = ? AND message_seq = ?',
      ),
      deleteLastReference: db.prepare('DELETE FROM messages WHERE seq = ? AND remaining <= 1'),
      dropReference: db.prepare('UPDATE messages SET remaining = remaining - 1 WHERE seq = ?'),
    };
    const meta = db.prepare("SELECT value FROM meta WHERE key = 'next_message_seq'").get() as {
      value: number;
    };
    const max = db.prepare('SELECT MAX(seq) AS seq FROM messages').get() as { seq: number | null };
    this.nextSeq = Math.max(meta.value, (max.seq ?? 0) + 1);
    this.savedSeq = this.nextSeq;
  }

  /** Inside the group commit's transaction: saves the next position if it moved. */
  saveNextSeq(): number {
    if (this.nextSeq !== this.savedSeq) this.s.saveNextSeq.run(this.nextSeq);
    return this.nextSeq;
  }

  /** After the group commit's transaction committed. */
  savedNextSeq(seq: number): void {
    this.savedSeq = seq;
  }

  /** The earlier answer to a resend, or undefined for a new client id. */
  private previousSend(input: MessageInput | CommitInput): AcceptedSend | undefined {
    const { sender } = input;
    const row = this.s.sendById.get(sender.accountId, sender.deviceId, blob(input.clientId)) as
      rules.SendRow | undefined;
    // One process writes this file: after a restart every connection reads its mailbox, so a
    // duplicate needs to announce nothing.
    return row && rules.previousAnswer(row, input.contentHash);
  }

  private deliver(
    kind: DeliveryKind,
    body: Uint8Array,
    recipients: readonly MailboxKey[],
    input: MessageInput | CommitInput,
  ) {
    const seq = this.nextSeq++;
    const tag = this.random.take(8);
    const fanout: Fanout[] = [];
    if (recipients.length > 0) {
      this.s.insertMessage.run(
        seq,
        rules.kindCodes[kind],
        blob(body),
        input.now,
        input.expiresAt,
        recipients.length,
        tag,
      );
      for (const r of recipients) {
        this.s.insertEntry.run(r.accountId, r.deviceId, seq);
        fanout.push({ mailbox: r, seq });
      }
    }
    return { kind, messageId: messageIdOf(seq, tag), fanout };
  }

  private recordSend(input: MessageInput | CommitInput, messageId: Uint8Array, epoch: number): void {
    this.s.insertSend.run(...rules.sendValues(input, messageId, epoch));
  }

  storeMessage(input: MessageInput): AcceptedSend {
    const previous = this.previousSend(input);
    if (previous) return previous;
    const { epoch, members } = this.groups.membership(blob(input.groupId), input.sender);
    const delivery = this.deliver('message', input.body, rules.othersThan(members, input.sender), input);
    this.recordSend(input, delivery.messageId, epoch);
    return rules.acceptedSend(delivery.messageId, epoch, input.now, [delivery]);
  }

  sequenceCommit(input: CommitInput): AcceptedSend {
    const previous = this.previousSend(input);
    if (previous) return previous;
    const id = blob(input.groupId);
    const { epoch, members } = this.groups.membership(id, input.sender);
    if (BigInt(epoch) !== input.epoch) throw rules.staleEpoch();
    // Resolve the Welcome's references and the removals before changing anything.
    const refs = input.welcome?.keyPackageRefs ?? [];
    const added = rules.welcomeRecipients(refs, this.lookups.claimsOf(refs, input.sender, input.now));
    const removed = rules.removedMailboxes(
      input.remove,
      this.lookups.accountIds(input.remove.map((r) => r.username)),
      input.sender,
    );
    const commit = this.deliver('commit', input.commit, rules.othersThan(members, input.sender), input);
    rules.checkMaxMembers(this.groups.change(id, removed, added), input.maxMembers);
    const deliveries = [commit];
    if (input.welcome && added.length > 0) {
      deliveries.push(this.deliver('welcome', input.welcome.body, added, input));
    }
    if (!this.groups.advanceEpoch(id, epoch)) throw rules.staleEpoch();
    this.recordSend(input, commit.messageId, epoch + 1);
    return rules.acceptedSend(commit.messageId, epoch + 1, input.now, deliveries);
  }

  pending(
    mailbox: MailboxKey,
    afterSeq: number,
    limit: number,
    now: number,
    excluding: readonly number[] = [],
  ): StoredDelivery[] {
    const rows = this.s.pending.all(
      mailbox.accountId,
      mailbox.deviceId,
      afterSeq,
      now,
      JSON.stringify(excluding),
      limit,
    ) as rules.PendingRow[];
    return rows.map(rules.storedDeliveryOf);
  }

  ack(mailbox: MailboxKey, messageIds: readonly Uint8Array[]): number {
    let count = 0;
    for (const messageId of messageIds) {
      // Only entries of this mailbox can match: another device's ids delete nothing.
      const seq = seqOf(messageId);
      if (seq !== undefined && this.removeEntry(mailbox.accountId, mailbox.deviceId, seq)) count++;
    }
    return count;
  }

  /** Deletes one mailbox entry, and the message with its last entry; false if there was none. */
  removeEntry(accountId: AccountId, deviceId: number, seq: number): boolean {
    if (this.s.deleteEntry.run(accountId, deviceId, seq).changes === 0) return false;
    if (this.s.deleteLastReference.run(seq).changes === 0) this.s.dropReference.run(seq);
    return true;
  }
}
