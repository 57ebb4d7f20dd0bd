// SQLite: accounts, their devices and device lists, and the simple AccountLog's records.
// Removing a device (or the account) also removes what belongs to it elsewhere: its mailbox,
// key packages, claims, sessions, routing-list places and idempotency records.
import type Database from 'better-sqlite3';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { AccountId, AccountRecord, AccountUpdate, DeviceListChange, NewAccount } from '../store.js';
import type { SqliteDelivery } from './delivery.js';
import type { SqliteGroups } from './groups.js';

export class SqliteAccounts {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly groups: SqliteGroups,
    private readonly delivery: () => SqliteDelivery,
  ) {
    this.s = {
      accountByUsername: db.prepare('SELECT * FROM accounts WHERE username = ?'),
      accountById: db.prepare('SELECT * FROM accounts WHERE id = ?'),
      devicesOf: db.prepare(
        'SELECT device_id, signature_key FROM devices WHERE account_id = ? ORDER BY device_id',
      ),
      skeletonTaken: db.prepare(
        'SELECT 1 FROM accounts WHERE skeleton = ? UNION ALL SELECT 1 FROM username_tombstones WHERE skeleton = ?',
      ),
      insertAccount: db.prepare(
        `INSERT INTO accounts (username, skeleton, identity_key, sequence, device_list, max_device_id, created_at)
         VALUES (?, ?, ?, 1, ?, ?, ?)`,
      ),
      insertDevice: db.prepare('INSERT INTO devices (account_id, device_id, signature_key) VALUES (?, ?, ?)'),
      deleteDevice: db.prepare('DELETE FROM devices WHERE account_id = ? AND device_id = ?'),
      updateAccountList: db.prepare(
        'UPDATE accounts SET sequence = ?, device_list = ?, max_device_id = ? WHERE id = ? AND sequence = ?',
      ),
      markLogged: db.prepare('UPDATE accounts SET logged_sequence = ? WHERE id = ? AND logged_sequence < ?'),
      awaitingLog: db.prepare('SELECT * FROM accounts WHERE logged_sequence < sequence'),
      insertUpdate: db.prepare(
        'INSERT OR IGNORE INTO account_updates (username, version, device_list, at) VALUES (?, ?, ?, ?)',
      ),
      updatesOf: db.prepare('SELECT * FROM account_updates WHERE username = ? ORDER BY seq'),
      useInvite: db.prepare(
        'UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = ? AND uses_left > 0 AND expires_at > ?',
      ),
      accountIdByName: db.prepare('SELECT id FROM accounts WHERE username = ?'),
    };
  }

  private account(row: rules.AccountRow | undefined): AccountRecord | undefined {
    return row && rules.accountOf(row, this.s.devicesOf.all(row.id) as rules.DeviceRow[]);
  }

  create(account: NewAccount): AccountRecord {
    if (this.s.skeletonTaken.get(account.skeleton, account.skeleton)) throw rules.usernameTaken();
    if (account.inviteHash && this.s.useInvite.run(blob(account.inviteHash), account.now).changes !== 1) {
      throw rules.inviteRefused();
    }
    const maxDeviceId = Math.max(...account.devices.map((d) => d.deviceId));
    const id = Number(
      this.s.insertAccount.run(
        account.username,
        account.skeleton,
        blob(account.identityKey),
        blob(account.signedDeviceList),
        maxDeviceId,
        account.now,
      ).lastInsertRowid,
    );
    for (const d of account.devices) this.s.insertDevice.run(id, d.deviceId, blob(d.signatureKey));
    return this.byId(id)!;
  }

  byUsername(username: string): AccountRecord | undefined {
    return this.account(this.s.accountByUsername.get(username) as rules.AccountRow | undefined);
  }

  byId(id: AccountId): AccountRecord | undefined {
    return this.account(this.s.accountById.get(id) as rules.AccountRow | undefined);
  }

  /** Account ids of these usernames, for the ones that exist. */
  ids(usernames: readonly string[]): Map<string, number> {
    const ids = new Map<string, number>();
    for (const username of usernames) {
      const row = this.s.accountIdByName.get(username) as { id: number } | undefined;
      if (row) ids.set(username, row.id);
    }
    return ids;
  }

  /** Removes a device's (or, with null, every device's) mailbox, packages, sessions and places. */
  private removeDeviceData(accountId: AccountId, deviceId: number | null): void {
    const where = deviceId === null ? 'account_id = ?' : 'account_id = ? AND device_id = ?';
    const args = deviceId === null ? [accountId] : [accountId, deviceId];
    const entries = this.db
      .prepare(`SELECT account_id, device_id, message_seq FROM mailbox_entries WHERE ${where}`)
      .all(...args) as { account_id: number; device_id: number; message_seq: number }[];
    for (const e of entries) this.delivery().removeEntry(e.account_id, e.device_id, e.message_seq);
    this.groups.clear(); // the device leaves every routing list it was on
    for (const table of rules.DEVICE_TABLES)
      this.db.prepare(`DELETE FROM ${table} WHERE ${where}`).run(...args);
  }

  updateDeviceList(change: DeviceListChange): AccountRecord {
    const diff = rules.diffDeviceList(this.byId(change.accountId), change);
    for (const deviceId of diff.removed) {
      this.s.deleteDevice.run(change.accountId, deviceId);
      this.removeDeviceData(change.accountId, deviceId);
    }
    for (const d of diff.added) this.s.insertDevice.run(change.accountId, d.deviceId, blob(d.signatureKey));
    const updated = this.s.updateAccountList.run(
      Number(change.sequence),
      blob(change.signedDeviceList),
      diff.maxDeviceId,
      change.accountId,
      Number(change.expectedSequence),
    );
    if (updated.changes !== 1) throw rules.deviceListChangedConcurrently();
    return this.byId(change.accountId)!;
  }

  delete(accountId: AccountId, now: number): void {
    const row = this.db.prepare('SELECT skeleton FROM accounts WHERE id = ?').get(accountId) as
      { skeleton: string } | undefined;
    if (!row) return;
    this.removeDeviceData(accountId, null);
    this.db.prepare('DELETE FROM devices WHERE account_id = ?').run(accountId);
    this.db.prepare('DELETE FROM accounts WHERE id = ?').run(accountId);
    this.db
      .prepare('INSERT OR IGNORE INTO username_tombstones (skeleton, deleted_at) VALUES (?, ?)')
      .run(row.skeleton, now);
  }

  markLogged(accountId: AccountId, sequence: bigint): void {
    this.s.markLogged.run(Number(sequence), accountId, Number(sequence));
  }

  awaitingLog(): AccountRecord[] {
    return (this.s.awaitingLog.all() as rules.AccountRow[]).map((row) => this.account(row)!);
  }

  appendUpdate(update: AccountUpdate): void {
    this.s.insertUpdate.run(...rules.accountUpdateValues(update));
  }

  updates(username: string): AccountUpdate[] {
    return (this.s.updatesOf.all(username) as rules.AccountUpdateRow[]).map(rules.accountUpdateOf);
  }

  updatesNotLogged(limit: number): (AccountUpdate & { readonly seq: number })[] {
    const rows = this.db
      .prepare(
        'SELECT seq, username, version, device_list, at FROM account_updates WHERE kt_logged = 0 ORDER BY seq LIMIT ?',
      )
      .all(limit) as rules.AccountUpdateRow[];
    return rows.map(rules.accountUpdateOf);
  }

  markUpdatesLogged(seqs: readonly number[]): void {
    this.db
      .prepare('UPDATE account_updates SET kt_logged = 1 WHERE seq IN (SELECT value FROM json_each(?))')
      .run(JSON.stringify(seqs));
  }
}
