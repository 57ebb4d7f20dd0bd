// SQLite: invites, sign-in challenges and sessions. Codes, nonces and tokens are stored only
// as SHA-256 hashes, so the file does not hold anything that signs one in.
import type Database from 'better-sqlite3';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type { MailboxKey, SessionRecord } from '../store.js';

export class SqliteSessions {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      insertInvite: db.prepare(
        'INSERT INTO invites (code_hash, uses_left, expires_at) VALUES (?, ?, ?) ON CONFLICT (code_hash) DO UPDATE SET uses_left = excluded.uses_left, expires_at = excluded.expires_at',
      ),
      insertChallenge: db.prepare('INSERT INTO challenges (nonce_hash, expires_at) VALUES (?, ?)'),
      takeChallenge: db.prepare('DELETE FROM challenges WHERE nonce_hash = ? RETURNING expires_at'),
      insertSession: db.prepare(
        'INSERT INTO sessions (token_hash, account_id, device_id, expires_at) VALUES (?, ?, ?, ?)',
      ),
      sessionByHash: db.prepare(
        `SELECT s.account_id, s.device_id, s.expires_at, a.username FROM sessions s
         JOIN accounts a ON a.id = s.account_id
         JOIN devices d ON d.account_id = s.account_id AND d.device_id = s.device_id
         WHERE s.token_hash = ? AND s.expires_at > ?`,
      ),
    };
  }

  addInvites(codeHashes: readonly Uint8Array[], uses: number, expiresAt: number): void {
    for (const hash of codeHashes) this.s.insertInvite.run(blob(hash), uses, expiresAt);
  }

  addChallenge(nonceHash: Uint8Array, expiresAt: number): void {
    this.s.insertChallenge.run(blob(nonceHash), expiresAt);
  }

  takeChallenge(nonceHash: Uint8Array): number | undefined {
    return (this.s.takeChallenge.get(blob(nonceHash)) as { expires_at: number } | undefined)?.expires_at;
  }

  createSession(tokenHash: Uint8Array, mailbox: MailboxKey, expiresAt: number): void {
    this.s.insertSession.run(blob(tokenHash), mailbox.accountId, mailbox.deviceId, expiresAt);
  }

  sessionByTokenHash(tokenHash: Uint8Array, now: number): SessionRecord | undefined {
    return rules.sessionOf(this.s.sessionByHash.get(blob(tokenHash), now) as rules.SessionRow | undefined);
  }
}
