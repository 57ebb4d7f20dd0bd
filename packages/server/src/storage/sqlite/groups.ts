// SQLite: groups and their routing lists, read through a cache. This process is the file's
// only writer, and every write to a group's epoch or members drops its entry (as does a
// failed group commit), so the cache never runs ahead of disk.
import type Database from 'better-sqlite3';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { MailboxKey, RoutingList } from '../store.js';

interface CachedGroup {
  readonly epoch: number;
  readonly members: readonly MailboxKey[];
  readonly keys: ReadonlySet<string>;
}

const MAX_CACHED_GROUPS = 100_000;

export class SqliteGroups {
  /** Routing lists by hex group id. */
  private readonly cache = new Map<string, CachedGroup>();
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      groupById: db.prepare('SELECT epoch FROM groups WHERE id = ?'),
      insertGroup: db.prepare('INSERT INTO groups (id, epoch, created_at) VALUES (?, 0, ?)'),
      setEpoch: db.prepare('UPDATE groups SET epoch = ? WHERE id = ? AND epoch = ?'),
      memberCount: db.prepare('SELECT COUNT(*) AS n FROM group_members WHERE group_id = ?'),
      memberNames: db.prepare(
        `SELECT a.username, m.device_id FROM group_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.group_id = ? ORDER BY a.username, m.device_id`,
      ),
      addMember: db.prepare(
        'INSERT OR IGNORE INTO group_members (group_id, account_id, device_id) VALUES (?, ?, ?)',
      ),
      removeMember: db.prepare(
        'DELETE FROM group_members WHERE group_id = ? AND account_id = ? AND device_id = ?',
      ),
      membership: db.prepare(
        `SELECT g.epoch, m.account_id, m.device_id FROM groups g
         LEFT JOIN group_members m ON m.group_id = g.id WHERE g.id = ?`,
      ),
    };
  }

  private names(id: Buffer, epoch: number): RoutingList {
    return rules.routingListOf(
      epoch,
      this.s.memberNames.all(id) as { username: string; device_id: number }[],
    );
  }

  create(groupId: Uint8Array, creator: MailboxKey, now: number): RoutingList {
    const id = blob(groupId);
    if (this.s.groupById.get(id)) throw rules.groupIdTaken();
    this.s.insertGroup.run(id, now);
    this.s.addMember.run(id, creator.accountId, creator.deviceId);
    return this.names(id, 0);
  }

  /** The group's epoch and routing list, if `member` is on it; 'forbidden' otherwise. */
  membership(id: Buffer, member: MailboxKey): CachedGroup {
    const key = id.toString('hex');
    let group = this.cache.get(key);
    if (!group) {
      const rows = this.s.membership.all(id) as rules.MembershipRow[];
      if (rows.length > 0) {
        const members = rules.membersOf(rows);
        group = { epoch: rows[0]!.epoch, members, keys: new Set(members.map(rules.mailboxKeyOf)) };
        if (this.cache.size >= MAX_CACHED_GROUPS) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(key, group);
      }
    }
    // Unknown groups and groups one is not on get the same answer.
    if (!group?.keys.has(rules.mailboxKeyOf(member))) throw rules.notOnRoutingList();
    return group;
  }

  routingList(groupId: Uint8Array, member: MailboxKey): RoutingList {
    const id = blob(groupId);
    return this.names(id, this.membership(id, member).epoch);
  }

  /**
   * Applies a commit's routing-list change and returns the new length. The cached entry is
   * dropped first: if the commit then fails, the savepoint's rollback restores the rows.
   */
  change(id: Buffer, removed: readonly MailboxKey[], added: readonly MailboxKey[]): number {
    this.cache.delete(id.toString('hex'));
    for (const r of removed) this.s.removeMember.run(id, r.accountId, r.deviceId);
    for (const a of added) this.s.addMember.run(id, a.accountId, a.deviceId);
    return (this.s.memberCount.get(id) as { n: number }).n;
  }

  /** Epoch compare-and-set: false when another write moved the epoch first. */
  advanceEpoch(id: Buffer, from: number): boolean {
    return this.s.setEpoch.run(from + 1, id, from).changes === 1;
  }

  /** Forgets every cached list: after a failed group commit, or a device leaving them all. */
  clear(): void {
    this.cache.clear();
  }
}
