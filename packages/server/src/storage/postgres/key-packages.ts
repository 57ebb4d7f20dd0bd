// PostgreSQL: key packages and their claims. A claim records which device claimed which
// package for which mailbox; a commit's Welcome is routed only through its committer's own
// claims. Two nodes claiming at once get two different packages (SKIP LOCKED).
import type pg from 'pg';
import { blob } from '../ids.js';
import * as rules from '../rules.js';
import type {
  AccountId,
  ClaimResult,
  KeyPackageClaim,
  KeyPackageCount,
  KeyPackageUpload,
  MailboxKey,
} from '../store.js';
import { pgCode, UNIQUE_VIOLATION, type Queryable } from './connection.js';

interface PackageRow {
  readonly id: number;
  readonly ref: Buffer;
  readonly body: Buffer;
}

export async function countKeyPackages(
  db: Queryable,
  mailbox: MailboxKey,
  now: number,
): Promise<KeyPackageCount> {
  const { rows } = await db.query<{ one_time: number; last_resort: boolean }>(
    `SELECT count(*) FILTER (WHERE NOT last_resort)::int AS one_time,
            bool_or(last_resort) IS TRUE AS last_resort
     FROM key_packages WHERE account_id = $1 AND device_id = $2 AND not_after > $3`,
    [mailbox.accountId, mailbox.deviceId, now],
  );
  return { oneTime: rows[0]!.one_time, lastResort: rows[0]!.last_resort };
}

export async function addKeyPackages(db: pg.ClientBase, input: KeyPackageUpload): Promise<KeyPackageCount> {
  const { accountId, deviceId } = input.mailbox;
  rules.checkOneTimeCap(
    (await countKeyPackages(db, input.mailbox, input.now)).oneTime,
    input.oneTime.length,
    input.maxOneTime,
  );
  const all = [
    ...(input.lastResort ? [{ kp: input.lastResort, lastResort: true }] : []),
    ...input.oneTime.map((kp) => ({ kp, lastResort: false })),
  ];
  const refs = all.map((p) => blob(p.kp.ref));
  const seen = await db.query(
    `SELECT 1 FROM key_packages WHERE ref = ANY($1::bytea[])
     UNION ALL SELECT 1 FROM key_package_claims WHERE ref = ANY($1::bytea[]) LIMIT 1`,
    [refs],
  );
  if (seen.rows.length > 0 || new Set(refs.map((r) => r.toString('hex'))).size !== refs.length) {
    throw rules.keyPackageTaken();
  }
  if (input.lastResort) {
    await db.query('DELETE FROM key_packages WHERE account_id = $1 AND device_id = $2 AND last_resort', [
      accountId,
      deviceId,
    ]);
  }
  try {
    await db.query(
      `INSERT INTO key_packages (account_id, device_id, ref, body, last_resort, not_after, created_at)
       SELECT $1, $2, ref, body, last_resort, not_after, $3
       FROM unnest($4::bytea[], $5::bytea[], $6::boolean[], $7::bigint[])
         AS t (ref, body, last_resort, not_after)`,
      [
        accountId,
        deviceId,
        input.now,
        refs,
        all.map((p) => blob(p.kp.body)),
        all.map((p) => p.lastResort),
        all.map((p) => p.kp.notAfter),
      ],
    );
  } catch (error) {
    if (pgCode(error) === UNIQUE_VIOLATION) throw rules.keyPackageTaken();
    throw error;
  }
  return countKeyPackages(db, input.mailbox, input.now);
}

/** The oldest live one-time package of a device, taken; else its last resort, left in place. */
async function takePackage(
  db: pg.ClientBase,
  target: AccountId,
  deviceId: number,
  now: number,
): Promise<{ row: PackageRow; lastResort: boolean } | undefined> {
  const oneTime = (
    await db.query<PackageRow>(
      `DELETE FROM key_packages WHERE id = (
         SELECT id FROM key_packages
         WHERE account_id = $1 AND device_id = $2 AND NOT last_resort AND not_after > $3
         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING id, ref, body`,
      [target, deviceId, now],
    )
  ).rows[0];
  if (oneTime) return { row: oneTime, lastResort: false };
  const lastResort = (
    await db.query<PackageRow>(
      `SELECT id, ref, body FROM key_packages
       WHERE account_id = $1 AND device_id = $2 AND last_resort AND not_after > $3`,
      [target, deviceId, now],
    )
  ).rows[0];
  return lastResort && { row: lastResort, lastResort: true };
}

export async function claimKeyPackages(db: pg.ClientBase, input: KeyPackageClaim): Promise<ClaimResult[]> {
  const results: ClaimResult[] = [];
  for (const deviceId of input.deviceIds) {
    const taken = await takePackage(db, input.target, deviceId, input.now);
    if (!taken) {
      results.push({ deviceId, lastResort: false });
      continue;
    }
    await db.query(
      `INSERT INTO key_package_claims
         (ref, account_id, device_id, claimed_by, claimed_by_device, claimed_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (ref, claimed_by, claimed_by_device) DO UPDATE SET claimed_at = excluded.claimed_at,
         expires_at = excluded.expires_at`,
      rules.claimValues(taken.row.ref, input, deviceId),
    );
    results.push({ deviceId, keyPackage: taken.row.body, lastResort: taken.lastResort });
  }
  return results;
}

/**
 * The live claims of `refs` that `committer` made itself (see CommitInput.welcome); a claim
 * made before schema 3 has no claiming device and so matches no committer. With
 * `anyClaim` (test-only), anyone's claim.
 */
export async function claimsOf(
  db: pg.ClientBase,
  refs: readonly Uint8Array[],
  committer: MailboxKey,
  now: number,
  anyClaim: boolean,
): Promise<rules.ClaimRow[]> {
  if (refs.length === 0) return [];
  const { rows } = await db.query<rules.ClaimRow>(
    `SELECT ref, account_id, device_id FROM key_package_claims
     WHERE ref = ANY($1::bytea[]) AND expires_at > $2
       AND ($3 OR (claimed_by = $4 AND claimed_by_device = $5))`,
    [refs.map(blob), now, anyClaim, committer.accountId, committer.deviceId],
  );
  return rows;
}
