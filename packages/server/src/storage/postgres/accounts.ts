// PostgreSQL: accounts, their devices and device lists, and the simple AccountLog's records.
// Removing a device (or the account) also removes what belongs to it elsewhere: its mailbox,
// key packages, claims, sessions, routing-list places and idempotency records.
import type pg from 'pg';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { AccountId, AccountRecord, AccountUpdate, DeviceListChange, NewAccount } from '../store.js';
import { pgCode, UNIQUE_VIOLATION, type Queryable } from './connection.js';
import { dropReferences } from './mailbox.js';

async function account(db: Queryable, row: rules.AccountRow | undefined): Promise<AccountRecord | undefined> {
  if (!row) return undefined;
  const devices = await db.query<rules.DeviceRow>(
    'SELECT device_id, signature_key FROM devices WHERE account_id = $1 ORDER BY device_id',
    [row.id],
  );
  return rules.accountOf(row, devices.rows);
}

export async function accountById(
  db: Queryable,
  id: AccountId,
  lock = false,
): Promise<AccountRecord | undefined> {
  const sql = `SELECT * FROM accounts WHERE id = $1${lock ? ' FOR UPDATE' : ''}`;
  return account(db, (await db.query<rules.AccountRow>(sql, [id])).rows[0]);
}

export async function accountByUsername(db: Queryable, username: string): Promise<AccountRecord | undefined> {
  return account(
    db,
    (await db.query<rules.AccountRow>('SELECT * FROM accounts WHERE username = $1', [username])).rows[0],
  );
}

export async function createAccount(db: pg.ClientBase, input: NewAccount): Promise<AccountRecord> {
  const taken = await db.query(
    'SELECT 1 FROM accounts WHERE skeleton = $1 UNION ALL SELECT 1 FROM username_tombstones WHERE skeleton = $1',
    [input.skeleton],
  );
  if (taken.rows.length > 0) throw rules.usernameTaken();
  if (input.inviteHash) {
    const used = await db.query(
      'UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = $1 AND uses_left > 0 AND expires_at > $2',
      [blob(input.inviteHash), input.now],
    );
    if (used.rowCount !== 1) throw rules.inviteRefused();
  }
  const maxDeviceId = Math.max(...input.devices.map((d) => d.deviceId));
  let row: rules.AccountRow;
  try {
    row = (
      await db.query<rules.AccountRow>(
        `INSERT INTO accounts (username, skeleton, identity_key, sequence, device_list, max_device_id, created_at)
         VALUES ($1, $2, $3, 1, $4, $5, $6) RETURNING *`,
        [
          input.username,
          input.skeleton,
          blob(input.identityKey),
          blob(input.signedDeviceList),
          maxDeviceId,
          input.now,
        ],
      )
    ).rows[0]!;
  } catch (error) {
    // Another node registered the same skeleton in the same instant.
    if (pgCode(error) === UNIQUE_VIOLATION) throw rules.usernameTaken();
    throw error;
  }
  await db.query(
    `INSERT INTO devices (account_id, device_id, signature_key)
     SELECT $1, * FROM unnest($2::int[], $3::bytea[])`,
    [row.id, input.devices.map((d) => d.deviceId), input.devices.map((d) => blob(d.signatureKey))],
  );
  return (await account(db, row))!;
}

/** Account ids of these usernames, for the ones that exist. */
export async function accountIds(db: Queryable, usernames: readonly string[]): Promise<Map<string, number>> {
  if (usernames.length === 0) return new Map();
  const { rows } = await db.query<{ id: number; username: string }>(
    'SELECT id, username FROM accounts WHERE username = ANY($1::text[])',
    [usernames],
  );
  return new Map(rows.map((r) => [r.username, r.id]));
}

/** Removes a device's (or, with null, every device's) mailbox, packages, sessions and places. */
async function removeDeviceData(db: pg.ClientBase, accountId: AccountId, deviceId: number | null) {
  const where = deviceId === null ? 'account_id = $1' : 'account_id = $1 AND device_id = $2';
  const args = deviceId === null ? [accountId] : [accountId, deviceId];
  const removed = await db.query<{ message_seq: number }>(
    `DELETE FROM mailbox_entries WHERE ${where} RETURNING message_seq`,
    args,
  );
  await dropReferences(
    db,
    removed.rows.map((r) => r.message_seq),
  );
  for (const table of rules.DEVICE_TABLES) await db.query(`DELETE FROM ${table} WHERE ${where}`, args);
}

export async function updateDeviceList(db: pg.ClientBase, change: DeviceListChange): Promise<AccountRecord> {
  const diff = rules.diffDeviceList(await accountById(db, change.accountId, true), change);
  for (const deviceId of diff.removed) {
    await db.query('DELETE FROM devices WHERE account_id = $1 AND device_id = $2', [
      change.accountId,
      deviceId,
    ]);
    await removeDeviceData(db, change.accountId, deviceId);
  }
  for (const d of diff.added) {
    await db.query('INSERT INTO devices (account_id, device_id, signature_key) VALUES ($1, $2, $3)', [
      change.accountId,
      d.deviceId,
      blob(d.signatureKey),
    ]);
  }
  const updated = await db.query(
    'UPDATE accounts SET sequence = $1, device_list = $2, max_device_id = $3 WHERE id = $4 AND sequence = $5',
    [
      Number(change.sequence),
      blob(change.signedDeviceList),
      diff.maxDeviceId,
      change.accountId,
      Number(change.expectedSequence),
    ],
  );
  if (updated.rowCount !== 1) throw rules.deviceListChangedConcurrently();
  return (await accountById(db, change.accountId))!;
}

export async function deleteAccount(db: pg.ClientBase, accountId: AccountId, now: number): Promise<void> {
  const row = (
    await db.query<{ skeleton: string }>('SELECT skeleton FROM accounts WHERE id = $1 FOR UPDATE', [
      accountId,
    ])
  ).rows[0];
  if (!row) return;
  await removeDeviceData(db, accountId, null);
  await db.query('DELETE FROM devices WHERE account_id = $1', [accountId]);
  await db.query('DELETE FROM accounts WHERE id = $1', [accountId]);
  await db.query(
    'INSERT INTO username_tombstones (skeleton, deleted_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [row.skeleton, now],
  );
}

export async function markLogged(db: pg.ClientBase, accountId: AccountId, sequence: bigint): Promise<void> {
  await db.query('UPDATE accounts SET logged_sequence = $1 WHERE id = $2 AND logged_sequence < $1', [
    Number(sequence),
    accountId,
  ]);
}

export async function accountsAwaitingLog(db: Queryable): Promise<AccountRecord[]> {
  const { rows } = await db.query<rules.AccountRow>(
    'SELECT * FROM accounts WHERE logged_sequence < sequence',
  );
  return Promise.all(rows.map(async (row) => (await account(db, row))!));
}

export async function appendAccountUpdate(db: pg.ClientBase, update: AccountUpdate): Promise<void> {
  await db.query(
    `INSERT INTO account_updates (username, version, device_list, at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (username, version) DO NOTHING`,
    rules.accountUpdateValues(update),
  );
}

export async function accountUpdates(db: Queryable, username: string): Promise<AccountUpdate[]> {
  const { rows } = await db.query<rules.AccountUpdateRow>(
    'SELECT seq, username, version, device_list, at FROM account_updates WHERE username = $1 ORDER BY seq',
    [username],
  );
  return rows.map(rules.accountUpdateOf);
}

export async function accountUpdatesNotLogged(
  db: Queryable,
  limit: number,
): Promise<(AccountUpdate & { readonly seq: number })[]> {
  const { rows } = await db.query<rules.AccountUpdateRow>(
    `SELECT seq, username, version, device_list, at FROM account_updates
     WHERE NOT kt_logged ORDER BY seq LIMIT $1`,
    [limit],
  );
  return rows.map(rules.accountUpdateOf);
}

export async function markUpdatesLogged(db: pg.ClientBase, seqs: readonly number[]): Promise<void> {
  await db.query('UPDATE account_updates SET kt_logged = true WHERE seq = ANY($1::bigint[])', [seqs]);
}
