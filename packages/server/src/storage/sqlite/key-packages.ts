// SQLite: key packages and their claims. A claim records which device claimed which package
// for which mailbox; a commit's Welcome is routed only through its committer's own claims.
import type Database from 'better-sqlite3';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type {
  ClaimResult,
  KeyPackageClaim,
  KeyPackageCount,
  KeyPackageUpload,
  MailboxKey,
  StoredKeyPackage,
} from '../store.js';

interface PackageRow {
  readonly id: number;
  readonly ref: Buffer;
  readonly body: Buffer;
}

export class SqliteKeyPackages {
  private readonly s;

  constructor(
    db: Database.Database,
    /** Test-only: route a Welcome by anyone's claim, as before schema 3. */
    private readonly routeWelcomeByAnyClaim: boolean,
  ) {
    this.s = {
      countOneTime: db.prepare(
        'SELECT COUNT(*) AS n FROM key_packages WHERE account_id = ? AND device_id = ? AND last_resort = 0 AND not_after > ?',
      ),
      hasLastResort: db.prepare(
        'SELECT 1 FROM key_packages WHERE account_id = ? AND device_id = ? AND last_resort = 1 AND not_after > ?',
      ),
      insertKeyPackage: db.prepare(
        `INSERT INTO key_packages (account_id, device_id, ref, body, last_resort, not_after, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteLastResort: db.prepare(
        'DELETE FROM key_packages WHERE account_id = ? AND device_id = ? AND last_resort = 1',
      ),
      refExists: db.prepare(
        'SELECT 1 FROM key_packages WHERE ref = ? UNION ALL SELECT 1 FROM key_package_claims WHERE ref = ?',
      ),
      oldestOneTime: db.prepare(
        `SELECT id, ref, body FROM key_packages WHERE account_id = ? AND device_id = ? AND last_resort = 0 AND not_after > ?
         ORDER BY id LIMIT 1`,
      ),
      lastResort: db.prepare(
        'SELECT id, ref, body FROM key_packages WHERE account_id = ? AND device_id = ? AND last_resort = 1 AND not_after > ?',
      ),
      deleteKeyPackage: db.prepare('DELETE FROM key_packages WHERE id = ?'),
      recordClaim: db.prepare(
        `INSERT INTO key_package_claims (ref, account_id, device_id, claimed_by, claimed_by_device, claimed_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (ref, claimed_by, claimed_by_device) DO UPDATE SET claimed_at = excluded.claimed_at,
           expires_at = excluded.expires_at`,
      ),
      // A claim made before schema 3 has no claiming device and so matches no committer.
      claimByCommitter: db.prepare(
        `SELECT ref, account_id, device_id FROM key_package_claims
         WHERE ref = ? AND expires_at > ? AND (? = 1 OR (claimed_by = ? AND claimed_by_device = ?))
         LIMIT 1`,
      ),
    };
  }

  count(mailbox: MailboxKey, now: number): KeyPackageCount {
    const { n } = this.s.countOneTime.get(mailbox.accountId, mailbox.deviceId, now) as { n: number };
    return {
      oneTime: n,
      lastResort: this.s.hasLastResort.get(mailbox.accountId, mailbox.deviceId, now) !== undefined,
    };
  }

  add(input: KeyPackageUpload): KeyPackageCount {
    const { accountId, deviceId } = input.mailbox;
    rules.checkOneTimeCap(
      this.count(input.mailbox, input.now).oneTime,
      input.oneTime.length,
      input.maxOneTime,
    );
    const store = (kp: StoredKeyPackage, lastResort: boolean) => {
      if (this.s.refExists.get(blob(kp.ref), blob(kp.ref))) throw rules.keyPackageTaken();
      this.s.insertKeyPackage.run(
        accountId,
        deviceId,
        blob(kp.ref),
        blob(kp.body),
        lastResort ? 1 : 0,
        kp.notAfter,
        input.now,
      );
    };
    if (input.lastResort) {
      this.s.deleteLastResort.run(accountId, deviceId);
      store(input.lastResort, true);
    }
    for (const kp of input.oneTime) store(kp, false);
    return this.count(input.mailbox, input.now);
  }

  claim(input: KeyPackageClaim): ClaimResult[] {
    return input.deviceIds.map((deviceId): ClaimResult => {
      let row = this.s.oldestOneTime.get(input.target, deviceId, input.now) as PackageRow | undefined;
      let lastResort = false;
      if (row) {
        this.s.deleteKeyPackage.run(row.id);
      } else {
        row = this.s.lastResort.get(input.target, deviceId, input.now) as PackageRow | undefined;
        lastResort = true;
      }
      if (!row) return { deviceId, lastResort: false };
      this.s.recordClaim.run(...rules.claimValues(row.ref, input, deviceId));
      return { deviceId, keyPackage: row.body, lastResort };
    });
  }

  /** The live claims of `refs` that `committer` made itself (see CommitInput.welcome). */
  claimsOf(refs: readonly Uint8Array[], committer: MailboxKey, now: number): rules.ClaimRow[] {
    return refs.flatMap((ref) => {
      const claim = this.s.claimByCommitter.get(
        blob(ref),
        now,
        this.routeWelcomeByAnyClaim ? 1 : 0,
        committer.accountId,
        committer.deviceId,
      ) as rules.ClaimRow | undefined;
      return claim ? [claim] : [];
    });
  }
}
