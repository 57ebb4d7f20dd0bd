// PostgreSQL: groups and their routing lists. Nothing is cached: other nodes write the same
// rows, so membership is read inside the transaction that depends on it.
import type pg from 'pg';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { MailboxKey, RoutingList } from '../store.js';
import type { Queryable } from './connection.js';

async function names(db: Queryable, groupId: Buffer, epoch: number): Promise<RoutingList> {
  const { rows } = await db.query<{ username: string; device_id: number }>(
    `SELECT a.username, m.device_id FROM group_members m JOIN accounts a ON a.id = m.account_id
     WHERE m.group_id = $1 ORDER BY a.username COLLATE "C", m.device_id`,
    [groupId],
  );
  return rules.routingListOf(epoch, rows);
}

export async function createGroup(
  db: pg.ClientBase,
  groupId: Uint8Array,
  creator: MailboxKey,
  now: number,
): Promise<RoutingList> {
  const id = blob(groupId);
  const inserted = await db.query(
    'INSERT INTO groups (id, epoch, created_at) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING',
    [id, now],
  );
  if (inserted.rowCount !== 1) throw rules.groupIdTaken();
  await db.query('INSERT INTO group_members (group_id, account_id, device_id) VALUES ($1, $2, $3)', [
    id,
    creator.accountId,
    creator.deviceId,
  ]);
  return names(db, id, 0);
}

/** The group's epoch and routing list, if `member` is on it; 'forbidden' otherwise. */
export async function membership(
  db: Queryable,
  id: Buffer,
  member: MailboxKey,
): Promise<{ epoch: number; members: MailboxKey[] }> {
  const { rows } = await db.query<rules.MembershipRow>(
    `SELECT g.epoch, m.account_id, m.device_id FROM groups g
     LEFT JOIN group_members m ON m.group_id = g.id WHERE g.id = $1`,
    [id],
  );
  const members = rules.membersOf(rows);
  rules.requireMember(members, member);
  return { epoch: rows[0]!.epoch, members };
}

/** Several groups' epochs and routing lists, by hex id, for a run of messages. */
export async function memberships(
  db: pg.ClientBase,
  hexIds: readonly string[],
): Promise<Map<string, { epoch: number; members: MailboxKey[] }>> {
  const { rows } = await db.query<rules.MembershipRow & { id: Buffer }>(
    `SELECT g.id, g.epoch, m.account_id, m.device_id FROM groups g
     LEFT JOIN group_members m ON m.group_id = g.id WHERE g.id = ANY($1::bytea[])`,
    [hexIds.map((hex) => Buffer.from(hex, 'hex'))],
  );
  const groups = new Map<string, { epoch: number; members: MailboxKey[] }>();
  for (const r of rows) {
    const key = r.id.toString('hex');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { epoch: r.epoch, members: [] }));
    group.members.push(...rules.membersOf([r]));
  }
  return groups;
}

export async function routingList(
  db: Queryable,
  groupId: Uint8Array,
  member: MailboxKey,
): Promise<RoutingList> {
  const id = blob(groupId);
  return names(db, id, (await membership(db, id, member)).epoch);
}

/**
 * Epoch compare-and-set: `UPDATE ... WHERE epoch = $2`. Of two nodes racing for one epoch,
 * the second waits on the row lock, then matches no row. Taking the lock first also keeps the
 * routing list from changing until this transaction ends.
 */
export async function advanceEpoch(db: pg.ClientBase, id: Buffer, from: number): Promise<boolean> {
  const advanced = await db.query('UPDATE groups SET epoch = epoch + 1 WHERE id = $1 AND epoch = $2', [
    id,
    from,
  ]);
  return advanced.rowCount === 1;
}

/** Applies a commit's routing-list change and returns the new length. */
export async function changeMembers(
  db: pg.ClientBase,
  id: Buffer,
  removed: readonly MailboxKey[],
  added: readonly MailboxKey[],
): Promise<number> {
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
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM group_members WHERE group_id = $1',
    [id],
  );
  return rows[0]!.n;
}
