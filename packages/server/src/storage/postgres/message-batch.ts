// PostgreSQL: a run of application messages from one group commit, stored in seven
// statements with the same checks as storeMessage: idempotency by client id (also within the
// run) and routing-list membership. Each message's outcome is returned in order; a failed
// check fails only its message.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { blob, messageIdOf, sameBytes } from '../ids.js';
import * as rules from '../rules.js';
import type { AcceptedSend, MailboxKey, MessageInput } from '../store.js';
import type { Outcome } from '../group-commit-queue.js';
import { stillWaiting, waiting } from './delivery.js';
import { memberships } from './groups.js';

const sendKey = (accountId: number, deviceId: number, clientId: Uint8Array) =>
  `${accountId}/${deviceId}/${blob(clientId).toString('hex')}`;
const keyOf = (input: MessageInput) => sendKey(input.sender.accountId, input.sender.deviceId, input.clientId);

/** A message of the run that passed its checks and is stored. */
interface Fresh {
  readonly input: MessageInput;
  readonly epoch: number;
  readonly recipients: MailboxKey[];
}

/** What becomes of each message of the run. */
type Plan =
  | { readonly outcome: Outcome }
  | { readonly fresh: number }
  /** A resend of a message stored earlier in this run: the first one's answer, as a duplicate. */
  | { readonly resendOf: number };

/** The earlier sends of the run's client ids, each with what it announces again. */
async function earlierSends(db: pg.ClientBase, inputs: readonly MessageInput[]) {
  const { rows } = await db.query<
    rules.SendRow & { account_id: number; device_id: number; client_id: Buffer }
  >(
    `SELECT s.account_id, s.device_id, s.client_id, s.content_hash, s.message_id, s.epoch, s.accepted_at
     FROM sends s JOIN unnest($1::int[], $2::int[], $3::bytea[]) AS k (a, d, c)
       ON s.account_id = k.a AND s.device_id = k.d AND s.client_id = k.c`,
    [
      inputs.map((m) => m.sender.accountId),
      inputs.map((m) => m.sender.deviceId),
      inputs.map((m) => blob(m.clientId)),
    ],
  );
  const found = await waiting(
    db,
    'message',
    rows.map((r) => r.message_id),
  );
  return new Map(
    rows.map((r) => [
      sendKey(r.account_id, r.device_id, r.client_id),
      { row: r, deliveries: stillWaiting(found, r.message_id) },
    ]),
  );
}

/** Checks each message in order: earlier sends, resends within the run, membership. */
async function plan(
  db: pg.ClientBase,
  inputs: readonly MessageInput[],
): Promise<{ plans: Plan[]; fresh: Fresh[] }> {
  const earlier = await earlierSends(db, inputs);
  const groups = await memberships(db, [...new Set(inputs.map((m) => blob(m.groupId).toString('hex')))]);
  const firstInRun = new Map<string, number>();
  const fresh: Fresh[] = [];
  const plans = inputs.map((input): Plan => {
    const key = keyOf(input);
    const previous = earlier.get(key);
    if (previous) {
      try {
        return {
          outcome: {
            ok: true,
            value: rules.previousAnswer(previous.row, input.contentHash, previous.deliveries),
          },
        };
      } catch (error) {
        return { outcome: { ok: false, error } };
      } finally {
        // One announcement per run is enough.
        previous.deliveries = [];
      }
    }
    const first = firstInRun.get(key);
    if (first !== undefined) {
      return sameBytes(fresh[first]!.input.contentHash, input.contentHash)
        ? { resendOf: first }
        : { outcome: { ok: false, error: rules.clientIdReused() } };
    }
    const group = groups.get(blob(input.groupId).toString('hex'));
    if (!group || !rules.isMember(group.members, input.sender)) {
      return { outcome: { ok: false, error: rules.notOnRoutingList() } };
    }
    firstInRun.set(key, fresh.length);
    fresh.push({ input, epoch: group.epoch, recipients: rules.othersThan(group.members, input.sender) });
    return { fresh: fresh.length - 1 };
  });
  return { plans, fresh };
}

/** Stores the messages that passed their checks; returns their answers, in order. */
async function store(db: pg.ClientBase, fresh: readonly Fresh[]): Promise<AcceptedSend[]> {
  const seqs = (
    await db.query<{ seq: number }>("SELECT nextval('message_seq') AS seq FROM generate_series(1, $1::int)", [
      fresh.length,
    ])
  ).rows
    .map((r) => r.seq)
    .sort((a, b) => a - b);
  const stored = fresh.map((f, i) => {
    const seq = seqs[i]!;
    const tag = randomBytes(8);
    return { ...f, seq, tag, messageId: messageIdOf(seq, tag) };
  });
  const withRecipients = stored.filter((m) => m.recipients.length > 0);
  if (withRecipients.length > 0) {
    await db.query(
      `INSERT INTO messages (seq, kind, body, received_at, expires_at, remaining, tag)
       SELECT seq, $1, body, received_at, expires_at, remaining, tag
       FROM unnest($2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::int[], $7::bytea[])
         AS t (seq, body, received_at, expires_at, remaining, tag)`,
      [
        rules.kindCodes.message,
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
  // One array per column of `sends`.
  const rows = stored.map((m) => rules.sendValues(m.input, m.messageId, m.epoch));
  await db.query(
    `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
     SELECT * FROM unnest($1::int[], $2::int[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bigint[],
       $7::bigint[], $8::bigint[])`,
    rows[0]!.map((_, column) => rows.map((row) => row[column])),
  );
  return stored.map((m) =>
    rules.acceptedSend(m.messageId, m.epoch, m.input.now, [
      {
        kind: 'message',
        messageId: m.messageId,
        fanout: m.recipients.map((mailbox) => ({ mailbox, seq: m.seq })),
      },
    ]),
  );
}

export async function storeMessages(db: pg.ClientBase, inputs: readonly MessageInput[]): Promise<Outcome[]> {
  const { plans, fresh } = await plan(db, inputs);
  const answers = fresh.length > 0 ? await store(db, fresh) : [];
  return plans.map((p): Outcome => {
    if ('outcome' in p) return p.outcome;
    if ('fresh' in p) return { ok: true, value: answers[p.fresh]! };
    return { ok: true, value: { ...answers[p.resendOf]!, duplicate: true, deliveries: [] } };
  });
}
