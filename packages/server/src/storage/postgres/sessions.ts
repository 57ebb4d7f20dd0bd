// PostgreSQL: invites, sign-in challenges and sessions. Codes, nonces and tokens are stored
// only as SHA-256 hashes, so the database does not hold anything that signs one in.
import type pg from 'pg';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { MailboxKey, SessionRecord } from '../store.js';
import type { Queryable } from './connection.js';

export async function addInvites(
  db: pg.ClientBase,
  codeHashes: readonly Uint8Array[],
  uses: number,
  expiresAt: number,
): Promise<void> {
  await db.query(
    `INSERT INTO invites (code_hash, uses_left, expires_at)
     SELECT DISTINCT ON (h) h, $2::int, $3::bigint FROM unnest($1::bytea[]) AS h
     ON CONFLICT (code_hash) DO UPDATE SET uses_left = excluded.uses_left, expires_at = excluded.expires_at`,
    [codeHashes.map(blob), uses, expiresAt],
  );
}

export async function addChallenge(
  db: pg.ClientBase,
  nonceHash: Uint8Array,
  expiresAt: number,
): Promise<void> {
  await db.query('INSERT INTO challenges (nonce_hash, expires_at) VALUES ($1, $2)', [
    blob(nonceHash),
    expiresAt,
  ]);
}

export async function takeChallenge(db: pg.ClientBase, nonceHash: Uint8Array): Promise<number | undefined> {
  const { rows } = await db.query<{ expires_at: number }>(
    'DELETE FROM challenges WHERE nonce_hash = $1 RETURNING expires_at',
    [blob(nonceHash)],
  );
  return rows[0]?.expires_at;
}

export async function createSession(
  db: pg.ClientBase,
  tokenHash: Uint8Array,
  mailbox: MailboxKey,
  expiresAt: number,
): Promise<void> {
  await db.query(
    'INSERT INTO sessions (token_hash, account_id, device_id, expires_at) VALUES ($1, $2, $3, $4)',
    [blob(tokenHash), mailbox.accountId, mailbox.deviceId, expiresAt],
  );
}

export async function sessionByTokenHash(
  db: Queryable,
  tokenHash: Uint8Array,
  now: number,
): Promise<SessionRecord | undefined> {
  const { rows } = await db.query<rules.SessionRow>(
    `SELECT s.account_id, s.device_id, s.expires_at, a.username FROM sessions s
     JOIN accounts a ON a.id = s.account_id
     JOIN devices d ON d.account_id = s.account_id AND d.device_id = s.device_id
     WHERE s.token_hash = $1 AND s.expires_at > $2`,
    [blob(tokenHash), now],
  );
  return rules.sessionOf(rows[0]);
}
