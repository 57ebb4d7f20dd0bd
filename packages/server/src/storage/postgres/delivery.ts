// PostgreSQL: storing messages and commits for delivery, with the idempotency records of
// sends. Each call runs inside the group commit's transaction, in its own savepoint. A resend
// is answered with the earlier answer and announces again the entries of the first send that
// still wait: the node that stored them may have died before it announced them.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { blob, messageIdOf, seqOf } from '../ids.js';
import * as rules from '../rules.js';
import type { AcceptedSend, CommitInput, DeliveryKind, Fanout, MailboxKey, MessageInput } from '../store.js';
import { accountIds } from './accounts.js';
import { advanceEpoch, changeMembers, membership } from './groups.js';
import { claimsOf } from './key-packages.js';

export type Delivery = AcceptedSend['deliveries'][number];

/** The entries of earlier sends still waiting in mailboxes, by position, to announce again. */
export async function waiting(
  db: pg.ClientBase,
  kind: DeliveryKind,
  messageIds: readonly Uint8Array[],
): Promise<Map<number, Delivery>> {
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

/** What a resend announces again: the first send's entries, if any still wait. */
export function stillWaiting(found: Map<number, Delivery>, messageId: Uint8Array): Delivery[] {
  const delivery = found.get(seqOf(messageId) ?? 0);
  return delivery && delivery.fanout.length > 0 ? [delivery] : [];
}

async function previousSend(
  db: pg.ClientBase,
  input: MessageInput | CommitInput,
  kind: DeliveryKind,
): Promise<AcceptedSend | undefined> {
  const { sender } = input;
  const row = (
    await db.query<rules.SendRow>(
      `SELECT content_hash, message_id, epoch, accepted_at FROM sends
       WHERE account_id = $1 AND device_id = $2 AND client_id = $3`,
      [sender.accountId, sender.deviceId, blob(input.clientId)],
    )
  ).rows[0];
  if (!row) return undefined;
  return rules.previousAnswer(
    row,
    input.contentHash,
    stillWaiting(await waiting(db, kind, [row.message_id]), row.message_id),
  );
}

/** Stores a body once and one entry per recipient, in two statements. */
async function deliver(
  db: pg.ClientBase,
  kind: DeliveryKind,
  body: Uint8Array,
  recipients: readonly MailboxKey[],
  input: MessageInput | CommitInput,
): Promise<Delivery> {
  const tag = randomBytes(8);
  if (recipients.length === 0) {
    const { seq } = (await db.query<{ seq: number }>("SELECT nextval('message_seq') AS seq")).rows[0]!;
    return { kind, messageId: messageIdOf(seq, tag), fanout: [] };
  }
  const { seq } = (
    await db.query<{ seq: number }>(
      `INSERT INTO messages (seq, kind, body, received_at, expires_at, remaining, tag)
       VALUES (nextval('message_seq'), $1, $2, $3, $4, $5, $6) RETURNING seq`,
      [rules.kindCodes[kind], blob(body), input.now, input.expiresAt, recipients.length, tag],
    )
  ).rows[0]!;
  await db.query(
    `INSERT INTO mailbox_entries (account_id, device_id, message_seq)
     SELECT a, d, $3 FROM unnest($1::int[], $2::int[]) AS t (a, d)`,
    [recipients.map((r) => r.accountId), recipients.map((r) => r.deviceId), seq],
  );
  return { kind, messageId: messageIdOf(seq, tag), fanout: recipients.map((mailbox) => ({ mailbox, seq })) };
}

async function recordSend(
  db: pg.ClientBase,
  input: MessageInput | CommitInput,
  messageId: Uint8Array,
  epoch: number,
): Promise<void> {
  await db.query(
    `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    rules.sendValues(input, messageId, epoch),
  );
}

export async function storeMessage(db: pg.ClientBase, input: MessageInput): Promise<AcceptedSend> {
  const previous = await previousSend(db, input, 'message');
  if (previous) return previous;
  const { epoch, members } = await membership(db, blob(input.groupId), input.sender);
  const delivery = await deliver(db, 'message', input.body, rules.othersThan(members, input.sender), input);
  await recordSend(db, input, delivery.messageId, epoch);
  return rules.acceptedSend(delivery.messageId, epoch, input.now, [delivery]);
}

export async function sequenceCommit(
  db: pg.ClientBase,
  input: CommitInput,
  routeWelcomeByAnyClaim: boolean,
): Promise<AcceptedSend> {
  // Announced again: the commit only (its Welcome waits for the new member's next read).
  const previous = await previousSend(db, input, 'commit');
  if (previous) return previous;
  const id = blob(input.groupId);
  const epoch = Number(input.epoch);
  // The compare-and-set comes first: it takes the group's row lock, so the routing list
  // read below cannot change until this transaction ends.
  const advanced = await advanceEpoch(db, id, epoch);
  const { members } = await membership(db, id, input.sender);
  if (!advanced) throw rules.staleEpoch();
  const refs = input.welcome?.keyPackageRefs ?? [];
  const added = rules.welcomeRecipients(
    refs,
    await claimsOf(db, refs, input.sender, input.now, routeWelcomeByAnyClaim),
  );
  const removed = rules.removedMailboxes(
    input.remove,
    await accountIds(
      db,
      input.remove.map((r) => r.username),
    ),
    input.sender,
  );
  const commit = await deliver(db, 'commit', input.commit, rules.othersThan(members, input.sender), input);
  rules.checkMaxMembers(await changeMembers(db, id, removed, added), input.maxMembers);
  const deliveries = [commit];
  if (input.welcome && added.length > 0) {
    deliveries.push(await deliver(db, 'welcome', input.welcome.body, added, input));
  }
  await recordSend(db, input, commit.messageId, epoch + 1);
  return rules.acceptedSend(commit.messageId, epoch + 1, input.now, deliveries);
}
