// The embedded storage adapter: one SQLite file (better-sqlite3) in WAL mode, with group
// commit. Every write is queued and all writes queued during one turn of the event loop run
// in a single transaction, each inside its own savepoint so that one failing write (a stale
// epoch, a taken name) fails alone. The promise of a write resolves only after that
// transaction committed, so "accepted" always means "on disk": with synchronous=FULL also
// through a power loss, with NORMAL through a crash of the process (kill -9) but not of the
// machine. Deleted rows are overwritten (secure_delete), and the WAL is truncated on every
// maintenance pass, so acknowledged ciphertext does not linger in the files.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { ApiError } from '@ghostproof/api';
import { migrations, SCHEMA_VERSION } from './schema.js';
import type {
  AcceptedSend,
  AccountId,
  AccountRecord,
  AccountUpdate,
  AttachmentRecord,
  ClaimResult,
  CommitInput,
  DeliveryKind,
  DeviceListChange,
  DeviceRecord,
  Fanout,
  KeyPackageCount,
  MailboxKey,
  MailboxName,
  MessageInput,
  NewAccount,
  PurgeResult,
  RoutingList,
  SessionRecord,
  Store,
  StoredDelivery,
  StoredKeyPackage,
} from './store.js';
import {
  accountUpdateOf,
  blob,
  messageIdOf,
  sameBytes,
  seqOf,
  welcomeRecipients,
  type AccountUpdateRow,
  type ClaimRow,
} from './ids.js';

export type SqliteSynchronous = 'full' | 'normal';

export interface SqliteStoreOptions {
  /** Path of the database file; ':memory:' for tests that need no durability. */
  readonly path: string;
  readonly synchronous?: SqliteSynchronous;
  /** Overwrite deleted rows (default). Off only to show, in a test, what it prevents. */
  readonly secureDelete?: boolean;
  /** Called after every group commit with the number of writes and the seconds it took. */
  readonly onFlush?: (writes: number, seconds: number) => void;
  /**
   * Test-only, default false: route a Welcome by anyone's claim of its key packages, as
   * before schema 3, so that a test can show the ghost Welcome this store otherwise refuses.
   */
  readonly unsafeTestingRouteWelcomeByAnyClaim?: boolean;
}

interface CachedGroup {
  readonly epoch: number;
  readonly members: readonly MailboxKey[];
  readonly keys: ReadonlySet<string>;
}

const MAX_CACHED_GROUPS = 100_000;

const kindCodes: Record<DeliveryKind, number> = { message: 1, commit: 2, welcome: 3 };
const kindNames: Record<number, DeliveryKind> = { 1: 'message', 2: 'commit', 3: 'welcome' };

/** Random bytes drawn in blocks: one system call per 512 ids rather than one each. */
class RandomPool {
  private pool = Buffer.alloc(0);
  private offset = 0;

  take(length: number): Buffer {
    if (this.offset + length > this.pool.length) {
      this.pool = randomBytes(8192);
      this.offset = 0;
    }
    const out = Buffer.from(this.pool.subarray(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }
}

interface AccountRow {
  id: number;
  username: string;
  identity_key: Buffer;
  sequence: number;
  device_list: Buffer;
  max_device_id: number;
  logged_sequence: number;
  created_at: number;
}

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly onFlush: ((writes: number, seconds: number) => void) | undefined;
  private readonly routeWelcomeByAnyClaim: boolean;
  private readonly s;
  private readonly random = new RandomPool();
  /** Routing lists by hex group id (see membership). */
  private readonly groups = new Map<string, CachedGroup>();
  /** Runs a function in a transaction; inside the group commit's transaction, in a savepoint. */
  private readonly atomically: (run: () => unknown) => unknown;
  /** Next message position; persisted in meta at every group commit, so never reused. */
  private nextSeq: number;
  private savedSeq: number;

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.path);
    this.onFlush = options.onFlush;
    this.routeWelcomeByAnyClaim = options.unsafeTestingRouteWelcomeByAnyClaim === true;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma(`secure_delete = ${options.secureDelete === false ? 'OFF' : 'ON'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.migrate();
    this.s = this.prepare();
    this.atomically = this.db.transaction((run: () => unknown) => run());
    const meta = this.db.prepare("SELECT value FROM meta WHERE key = 'next_message_seq'").get() as {
      value: number;
    };
    const max = this.db.prepare('SELECT MAX(seq) AS seq FROM messages').get() as { seq: number | null };
    this.nextSeq = Math.max(meta.value, (max.seq ?? 0) + 1);
    this.savedSeq = this.nextSeq;
  }

  /** The schema version the file is at. */
  schemaVersion(): number {
    const row = this.db.prepare('SELECT version FROM schema_version').get() as
      { version: number } | undefined;
    return row?.version ?? 0;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    let version = this.schemaVersion();
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema ${version} is newer than this server (${SCHEMA_VERSION})`);
    }
    if (version === 0 && !this.db.prepare('SELECT 1 FROM schema_version').get()) {
      this.db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
    }
    while (version < SCHEMA_VERSION) {
      const sql = migrations[version]!;
      const next = version + 1;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('UPDATE schema_version SET version = ?').run(next);
      })();
      version = next;
    }
  }

  private prepare() {
    const db = this.db;
    return {
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
      insertInvite: db.prepare(
        'INSERT INTO invites (code_hash, uses_left, expires_at) VALUES (?, ?, ?) ON CONFLICT (code_hash) DO UPDATE SET uses_left = excluded.uses_left, expires_at = excluded.expires_at',
      ),
      insertSession: db.prepare(
        'INSERT INTO sessions (token_hash, account_id, device_id, expires_at) VALUES (?, ?, ?, ?)',
      ),
      sessionByHash: db.prepare(
        `SELECT s.account_id, s.device_id, s.expires_at, a.username FROM sessions s
         JOIN accounts a ON a.id = s.account_id
         JOIN devices d ON d.account_id = s.account_id AND d.device_id = s.device_id
         WHERE s.token_hash = ? AND s.expires_at > ?`,
      ),
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
      accountIdByName: db.prepare('SELECT id FROM accounts WHERE username = ?'),
      sendById: db.prepare(
        'SELECT content_hash, message_id, epoch, accepted_at FROM sends WHERE account_id = ? AND device_id = ? AND client_id = ?',
      ),
      insertSend: db.prepare(
        `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertMessage: db.prepare(
        'INSERT INTO messages (seq, kind, body, received_at, expires_at, remaining, tag) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertEntry: db.prepare(
        'INSERT INTO mailbox_entries (account_id, device_id, message_seq) VALUES (?, ?, ?)',
      ),
      saveNextSeq: db.prepare("UPDATE meta SET value = ? WHERE key = 'next_message_seq'"),
      membership: db.prepare(
        `SELECT g.epoch, m.account_id, m.device_id FROM groups g
         LEFT JOIN group_members m ON m.group_id = g.id WHERE g.id = ?`,
      ),
      pending: db.prepare(
        `SELECT m.seq, m.tag, m.kind, m.body, m.received_at FROM mailbox_entries e
         JOIN messages m ON m.seq = e.message_seq
         WHERE e.account_id = ? AND e.device_id = ? AND e.message_seq > ? AND m.expires_at > ?
           AND e.message_seq NOT IN (SELECT value FROM json_each(?))
         ORDER BY e.message_seq LIMIT ?`,
      ),
      deleteEntry: db.prepare(
        'DELETE FROM mailbox_entries WHERE account_id = ? AND device_id = ? AND message_seq = ?',
      ),
      deleteLastReference: db.prepare('DELETE FROM messages WHERE seq = ? AND remaining <= 1'),
      dropReference: db.prepare('UPDATE messages SET remaining = remaining - 1 WHERE seq = ?'),
      insertAttachment: db.prepare(
        `INSERT INTO attachments (id, token_hash, account_id, device_id, size, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      attachmentById: db.prepare('SELECT * FROM attachments WHERE id = ? AND expires_at > ?'),
    };
  }

  // ---- group commit ------------------------------------------------------------------

  private write<T>(run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new ApiError('unavailable', 'storage is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const started = performance.now();
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const op of batch) {
          try {
            // A nested transaction is a savepoint: a failing write rolls back alone.
            outcomes.push({ ok: true, value: this.atomically(op.run) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
        if (this.nextSeq !== this.savedSeq) this.s.saveNextSeq.run(this.nextSeq);
      })();
      this.savedSeq = this.nextSeq;
    } catch (error) {
      this.groups.clear();
      for (const op of batch) op.reject(error);
      return;
    }
    this.onFlush?.(batch.length, (performance.now() - started) / 1000);
    batch.forEach((op, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.error);
    });
  }

  // ---- accounts ----------------------------------------------------------------------

  private account(row: AccountRow | undefined): AccountRecord | undefined {
    if (!row) return undefined;
    const devices = (this.s.devicesOf.all(row.id) as { device_id: number; signature_key: Buffer }[]).map(
      (d): DeviceRecord => ({ deviceId: d.device_id, signatureKey: d.signature_key }),
    );
    return {
      id: row.id,
      username: row.username,
      identityKey: row.identity_key,
      sequence: BigInt(row.sequence),
      signedDeviceList: row.device_list,
      devices,
      maxDeviceId: row.max_device_id,
      loggedSequence: BigInt(row.logged_sequence),
      createdAt: row.created_at,
    };
  }

  async createAccount(account: NewAccount): Promise<AccountRecord> {
    return this.write(() => {
      if (this.s.skeletonTaken.get(account.skeleton, account.skeleton)) {
        throw new ApiError('username-taken', 'username: taken');
      }
      if (account.inviteHash && this.s.useInvite.run(blob(account.inviteHash), account.now).changes !== 1) {
        throw new ApiError('invite-required', 'invite code: unknown or spent');
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
      return this.account(this.s.accountById.get(id) as AccountRow)!;
    });
  }

  async accountByUsername(username: string): Promise<AccountRecord | undefined> {
    return this.account(this.s.accountByUsername.get(username) as AccountRow | undefined);
  }

  async accountById(id: AccountId): Promise<AccountRecord | undefined> {
    return this.account(this.s.accountById.get(id) as AccountRow | undefined);
  }

  /** Removes a device's mailbox, key packages, sessions, claims and routing-list places. */
  private removeDeviceData(accountId: AccountId, deviceId: number | null): void {
    const where = deviceId === null ? 'account_id = ?' : 'account_id = ? AND device_id = ?';
    const args = deviceId === null ? [accountId] : [accountId, deviceId];
    const entries = this.db
      .prepare(`SELECT account_id, device_id, message_seq FROM mailbox_entries WHERE ${where}`)
      .all(...args) as { account_id: number; device_id: number; message_seq: number }[];
    for (const e of entries) this.removeEntry(e.account_id, e.device_id, e.message_seq);
    this.groups.clear(); // the device leaves every routing list it was on
    for (const table of ['key_packages', 'key_package_claims', 'sessions', 'group_members', 'sends']) {
      this.db.prepare(`DELETE FROM ${table} WHERE ${where}`).run(...args);
    }
  }

  async updateDeviceList(change: DeviceListChange): Promise<AccountRecord> {
    return this.write(() => {
      const current = this.account(this.s.accountById.get(change.accountId) as AccountRow | undefined);
      if (!current) throw new ApiError('not-found', 'account: not found');
      if (current.sequence !== change.expectedSequence) {
        throw new ApiError('stale-sequence', 'device list: sequence is not current + 1');
      }
      const next = new Map(change.devices.map((d) => [d.deviceId, d]));
      for (const d of current.devices) {
        if (!next.has(d.deviceId)) {
          this.s.deleteDevice.run(change.accountId, d.deviceId);
          this.removeDeviceData(change.accountId, d.deviceId);
        }
      }
      const known = new Set(current.devices.map((d) => d.deviceId));
      let maxDeviceId = current.maxDeviceId;
      for (const d of change.devices) {
        if (!known.has(d.deviceId)) {
          this.s.insertDevice.run(change.accountId, d.deviceId, blob(d.signatureKey));
          maxDeviceId = Math.max(maxDeviceId, d.deviceId);
        }
      }
      const updated = this.s.updateAccountList.run(
        Number(change.sequence),
        blob(change.signedDeviceList),
        maxDeviceId,
        change.accountId,
        Number(change.expectedSequence),
      );
      if (updated.changes !== 1) throw new ApiError('stale-sequence', 'device list: changed concurrently');
      return this.account(this.s.accountById.get(change.accountId) as AccountRow)!;
    });
  }

  async deleteAccount(accountId: AccountId, now: number): Promise<void> {
    return this.write(() => {
      const row = this.db.prepare('SELECT skeleton FROM accounts WHERE id = ?').get(accountId) as
        { skeleton: string } | undefined;
      if (!row) return;
      this.removeDeviceData(accountId, null);
      this.db.prepare('DELETE FROM devices WHERE account_id = ?').run(accountId);
      this.db.prepare('DELETE FROM accounts WHERE id = ?').run(accountId);
      this.db
        .prepare('INSERT OR IGNORE INTO username_tombstones (skeleton, deleted_at) VALUES (?, ?)')
        .run(row.skeleton, now);
    });
  }

  async markLogged(accountId: AccountId, sequence: bigint): Promise<void> {
    return this.write(() => {
      this.s.markLogged.run(Number(sequence), accountId, Number(sequence));
    });
  }

  async accountsAwaitingLog(): Promise<AccountRecord[]> {
    return (this.s.awaitingLog.all() as AccountRow[]).map((row) => this.account(row)!);
  }

  async appendAccountUpdate(update: AccountUpdate): Promise<void> {
    return this.write(() => {
      this.s.insertUpdate.run(
        update.username,
        Number(update.version),
        update.signedDeviceList ? blob(update.signedDeviceList) : null,
        update.at,
      );
    });
  }

  async accountUpdates(username: string): Promise<AccountUpdate[]> {
    return (this.s.updatesOf.all(username) as AccountUpdateRow[]).map(accountUpdateOf);
  }

  // ---- invites and sessions ----------------------------------------------------------

  async addInvites(codeHashes: readonly Uint8Array[], uses: number, expiresAt: number): Promise<void> {
    return this.write(() => {
      for (const hash of codeHashes) this.s.insertInvite.run(blob(hash), uses, expiresAt);
    });
  }

  async addChallenge(nonceHash: Uint8Array, expiresAt: number): Promise<void> {
    return this.write(() => {
      this.db
        .prepare('INSERT INTO challenges (nonce_hash, expires_at) VALUES (?, ?)')
        .run(blob(nonceHash), expiresAt);
    });
  }

  async takeChallenge(nonceHash: Uint8Array): Promise<number | undefined> {
    return this.write(() => {
      const row = this.db
        .prepare('DELETE FROM challenges WHERE nonce_hash = ? RETURNING expires_at')
        .get(blob(nonceHash)) as { expires_at: number } | undefined;
      return row?.expires_at;
    });
  }

  async accountUpdatesNotLogged(limit: number): Promise<(AccountUpdate & { readonly seq: number })[]> {
    const rows = this.db
      .prepare(
        'SELECT seq, username, version, device_list, at FROM account_updates WHERE kt_logged = 0 ORDER BY seq LIMIT ?',
      )
      .all(limit) as AccountUpdateRow[];
    return rows.map(accountUpdateOf);
  }

  async markUpdatesLogged(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    return this.write(() => {
      this.db
        .prepare('UPDATE account_updates SET kt_logged = 1 WHERE seq IN (SELECT value FROM json_each(?))')
        .run(JSON.stringify(seqs));
    });
  }

  async createSession(tokenHash: Uint8Array, mailbox: MailboxKey, expiresAt: number): Promise<void> {
    return this.write(() => {
      this.s.insertSession.run(blob(tokenHash), mailbox.accountId, mailbox.deviceId, expiresAt);
    });
  }

  async sessionByTokenHash(tokenHash: Uint8Array, now: number): Promise<SessionRecord | undefined> {
    const row = this.s.sessionByHash.get(blob(tokenHash), now) as
      { account_id: number; device_id: number; expires_at: number; username: string } | undefined;
    return row
      ? {
          accountId: row.account_id,
          deviceId: row.device_id,
          expiresAt: row.expires_at,
          username: row.username,
        }
      : undefined;
  }

  // ---- key packages ------------------------------------------------------------------

  private count(mailbox: MailboxKey, now: number): KeyPackageCount {
    const { n } = this.s.countOneTime.get(mailbox.accountId, mailbox.deviceId, now) as { n: number };
    return {
      oneTime: n,
      lastResort: this.s.hasLastResort.get(mailbox.accountId, mailbox.deviceId, now) !== undefined,
    };
  }

  async addKeyPackages(input: {
    mailbox: MailboxKey;
    oneTime: readonly StoredKeyPackage[];
    lastResort?: StoredKeyPackage;
    maxOneTime: number;
    now: number;
  }): Promise<KeyPackageCount> {
    return this.write(() => {
      const { accountId, deviceId } = input.mailbox;
      const existing = this.count(input.mailbox, input.now).oneTime;
      if (existing + input.oneTime.length > input.maxOneTime) {
        throw new ApiError(
          'too-large',
          `key packages: at most ${input.maxOneTime} one-time packages per device`,
        );
      }
      const store = (kp: StoredKeyPackage, lastResort: boolean) => {
        if (this.s.refExists.get(blob(kp.ref), blob(kp.ref))) {
          throw new ApiError('conflict', 'key package: already uploaded');
        }
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
    });
  }

  async countKeyPackages(mailbox: MailboxKey, now: number): Promise<KeyPackageCount> {
    return this.count(mailbox, now);
  }

  async claimKeyPackages(input: {
    target: AccountId;
    deviceIds: readonly number[];
    claimer: MailboxKey;
    now: number;
    claimExpiresAt: number;
  }): Promise<ClaimResult[]> {
    return this.write(() =>
      input.deviceIds.map((deviceId): ClaimResult => {
        let row = this.s.oldestOneTime.get(input.target, deviceId, input.now) as
          { id: number; ref: Buffer; body: Buffer } | undefined;
        let lastResort = false;
        if (row) {
          this.s.deleteKeyPackage.run(row.id);
        } else {
          row = this.s.lastResort.get(input.target, deviceId, input.now) as typeof row;
          lastResort = true;
        }
        if (!row) return { deviceId, lastResort: false };
        this.s.recordClaim.run(
          row.ref,
          input.target,
          deviceId,
          input.claimer.accountId,
          input.claimer.deviceId,
          input.now,
          input.claimExpiresAt,
        );
        return { deviceId, keyPackage: row.body, lastResort };
      }),
    );
  }

  // ---- groups and messages -----------------------------------------------------------

  private names(groupId: Buffer, epoch: number): RoutingList {
    const members = (this.s.memberNames.all(groupId) as { username: string; device_id: number }[]).map(
      (r): MailboxName => ({ username: r.username, deviceId: r.device_id }),
    );
    return { epoch: BigInt(epoch), members };
  }

  async createGroup(groupId: Uint8Array, creator: MailboxKey, now: number): Promise<RoutingList> {
    return this.write(() => {
      const id = blob(groupId);
      if (this.s.groupById.get(id)) throw new ApiError('conflict', 'group id: taken');
      this.s.insertGroup.run(id, now);
      this.s.addMember.run(id, creator.accountId, creator.deviceId);
      return this.names(id, 0);
    });
  }

  /**
   * The group's epoch and routing list, if `member` is on it. Read through a cache: this
   * process is the database's only writer, and every write to a group's epoch or members
   * drops its entry (as does a failed group commit), so the cache never runs ahead of disk.
   */
  private membership(id: Buffer, member: MailboxKey): CachedGroup {
    const key = id.toString('hex');
    let group = this.groups.get(key);
    if (!group) {
      const rows = this.s.membership.all(id) as {
        epoch: number;
        account_id: number | null;
        device_id: number | null;
      }[];
      if (rows.length > 0) {
        const members = rows
          .filter((r) => r.account_id !== null && r.device_id !== null)
          .map((r) => ({ accountId: r.account_id!, deviceId: r.device_id! }));
        group = {
          epoch: rows[0]!.epoch,
          members,
          keys: new Set(members.map((m) => `${m.accountId}/${m.deviceId}`)),
        };
        if (this.groups.size >= MAX_CACHED_GROUPS) this.groups.delete(this.groups.keys().next().value!);
        this.groups.set(key, group);
      }
    }
    // Unknown groups and groups one is not on get the same answer.
    if (!group?.keys.has(`${member.accountId}/${member.deviceId}`)) {
      throw new ApiError('forbidden', 'group: not on its routing list');
    }
    return group;
  }

  async routingList(groupId: Uint8Array, member: MailboxKey): Promise<RoutingList> {
    const id = blob(groupId);
    return this.names(id, this.membership(id, member).epoch);
  }

  /** The earlier answer to a resend, or undefined for a new client id. */
  private previousSend(input: MessageInput | CommitInput): AcceptedSend | undefined {
    const { sender } = input;
    const row = this.s.sendById.get(sender.accountId, sender.deviceId, blob(input.clientId)) as
      { content_hash: Buffer; message_id: Buffer; epoch: number; accepted_at: number } | undefined;
    if (!row) return undefined;
    if (!sameBytes(row.content_hash, input.contentHash)) {
      throw new ApiError('conflict', 'client id: reused with different content');
    }
    return {
      messageId: row.message_id,
      epoch: BigInt(row.epoch),
      acceptedAt: row.accepted_at,
      duplicate: true,
      deliveries: [],
    };
  }

  private deliver(
    kind: DeliveryKind,
    body: Uint8Array,
    recipients: readonly MailboxKey[],
    input: MessageInput | CommitInput,
  ) {
    const seq = this.nextSeq++;
    const tag = this.random.take(8);
    const fanout: Fanout[] = [];
    if (recipients.length > 0) {
      this.s.insertMessage.run(
        seq,
        kindCodes[kind],
        blob(body),
        input.now,
        input.expiresAt,
        recipients.length,
        tag,
      );
      for (const r of recipients) {
        this.s.insertEntry.run(r.accountId, r.deviceId, seq);
        fanout.push({ mailbox: r, seq });
      }
    }
    return { kind, messageId: messageIdOf(seq, tag), fanout };
  }

  /** Deletes one mailbox entry, and the message with its last entry; false if there was none. */
  private removeEntry(accountId: AccountId, deviceId: number, seq: number): boolean {
    if (this.s.deleteEntry.run(accountId, deviceId, seq).changes === 0) return false;
    if (this.s.deleteLastReference.run(seq).changes === 0) this.s.dropReference.run(seq);
    return true;
  }

  private recordSend(input: MessageInput | CommitInput, messageId: Uint8Array, epoch: number): void {
    this.s.insertSend.run(
      input.sender.accountId,
      input.sender.deviceId,
      blob(input.clientId),
      blob(input.contentHash),
      blob(messageId),
      epoch,
      input.now,
      input.expiresAt,
    );
  }

  private static others(members: readonly MailboxKey[], sender: MailboxKey): MailboxKey[] {
    return members.filter((m) => !(m.accountId === sender.accountId && m.deviceId === sender.deviceId));
  }

  async storeMessage(input: MessageInput): Promise<AcceptedSend> {
    return this.write(() => {
      const previous = this.previousSend(input);
      if (previous) return previous;
      const { epoch, members } = this.membership(blob(input.groupId), input.sender);
      const delivery = this.deliver('message', input.body, SqliteStore.others(members, input.sender), input);
      this.recordSend(input, delivery.messageId, epoch);
      return {
        messageId: delivery.messageId,
        epoch: BigInt(epoch),
        acceptedAt: input.now,
        duplicate: false,
        deliveries: [delivery],
      };
    });
  }

  async sequenceCommit(input: CommitInput): Promise<AcceptedSend> {
    return this.write(() => {
      const previous = this.previousSend(input);
      if (previous) return previous;
      const id = blob(input.groupId);
      const { epoch, members } = this.membership(id, input.sender);
      if (BigInt(epoch) !== input.epoch)
        throw new ApiError('stale-epoch', 'commit: not for the current epoch');

      // Resolve the Welcome's references, through the committing device's own claims, before
      // changing anything.
      const refs = input.welcome?.keyPackageRefs ?? [];
      const claims = refs.flatMap((ref) => {
        const claim = this.s.claimByCommitter.get(
          blob(ref),
          input.now,
          this.routeWelcomeByAnyClaim ? 1 : 0,
          input.sender.accountId,
          input.sender.deviceId,
        ) as ClaimRow | undefined;
        return claim ? [claim] : [];
      });
      const added = welcomeRecipients(refs, claims);
      const removed: MailboxKey[] = [];
      for (const name of input.remove) {
        const account = this.s.accountIdByName.get(name.username) as { id: number } | undefined;
        // A mailbox already gone (deleted account or device) needs no removal.
        if (account) removed.push({ accountId: account.id, deviceId: name.deviceId });
      }
      if (
        removed.some((r) => r.accountId === input.sender.accountId && r.deviceId === input.sender.deviceId)
      ) {
        throw new ApiError('malformed', 'commit: the committer cannot remove itself');
      }

      const before = SqliteStore.others(members, input.sender);
      const commit = this.deliver('commit', input.commit, before, input);
      this.groups.delete(id.toString('hex'));
      for (const r of removed) this.s.removeMember.run(id, r.accountId, r.deviceId);
      for (const a of added) this.s.addMember.run(id, a.accountId, a.deviceId);
      const { n } = this.s.memberCount.get(id) as { n: number };
      if (n > input.maxMembers) throw new ApiError('too-large', `group: over ${input.maxMembers} mailboxes`);
      const deliveries = [commit];
      if (input.welcome && added.length > 0)
        deliveries.push(this.deliver('welcome', input.welcome.body, added, input));
      const next = epoch + 1;
      if (this.s.setEpoch.run(next, id, epoch).changes !== 1) {
        throw new ApiError('stale-epoch', 'commit: epoch changed concurrently');
      }
      this.recordSend(input, commit.messageId, next);
      return {
        messageId: commit.messageId,
        epoch: BigInt(next),
        acceptedAt: input.now,
        duplicate: false,
        deliveries,
      };
    });
  }

  async pendingDeliveries(
    mailbox: MailboxKey,
    afterSeq: number,
    limit: number,
    now: number,
    excluding: readonly number[] = [],
  ): Promise<StoredDelivery[]> {
    return (
      this.s.pending.all(
        mailbox.accountId,
        mailbox.deviceId,
        afterSeq,
        now,
        JSON.stringify(excluding),
        limit,
      ) as {
        seq: number;
        tag: Buffer;
        kind: number;
        body: Buffer;
        received_at: number;
      }[]
    ).map((r) => ({
      seq: r.seq,
      messageId: messageIdOf(r.seq, r.tag),
      kind: kindNames[r.kind]!,
      body: r.body,
      receivedAt: r.received_at,
    }));
  }

  async ack(mailbox: MailboxKey, messageIds: readonly Uint8Array[]): Promise<number> {
    return this.write(() => {
      let count = 0;
      for (const messageId of messageIds) {
        // Only entries of this mailbox can match: another device's ids delete nothing.
        const seq = seqOf(messageId);
        if (seq !== undefined && this.removeEntry(mailbox.accountId, mailbox.deviceId, seq)) count++;
      }
      return count;
    });
  }

  // ---- attachments and maintenance ---------------------------------------------------

  async createAttachment(record: AttachmentRecord, owner: MailboxKey): Promise<void> {
    return this.write(() => {
      this.s.insertAttachment.run(
        blob(record.id),
        blob(record.tokenHash),
        owner.accountId,
        owner.deviceId,
        record.size,
        record.createdAt,
        record.expiresAt,
      );
    });
  }

  async attachment(id: Uint8Array, now: number): Promise<AttachmentRecord | undefined> {
    const row = this.s.attachmentById.get(blob(id), now) as
      { id: Buffer; token_hash: Buffer; size: number; created_at: number; expires_at: number } | undefined;
    return row
      ? {
          id: row.id,
          tokenHash: row.token_hash,
          size: row.size,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      : undefined;
  }

  async purgeExpired(now: number): Promise<PurgeResult> {
    const result = await this.write(() => {
      const messages = this.db.prepare('DELETE FROM messages WHERE expires_at <= ?').run(now).changes;
      // Entries of expired messages (a scan of the entries: they are few once delivered).
      const entries = this.db
        .prepare(
          'DELETE FROM mailbox_entries WHERE NOT EXISTS (SELECT 1 FROM messages WHERE seq = message_seq)',
        )
        .run().changes;
      const attachments = (
        this.db.prepare('SELECT id FROM attachments WHERE expires_at <= ?').all(now) as { id: Buffer }[]
      ).map((r) => new Uint8Array(r.id));
      this.db.prepare('DELETE FROM attachments WHERE expires_at <= ?').run(now);
      for (const [table, column] of [
        ['sends', 'expires_at'],
        ['sessions', 'expires_at'],
        ['challenges', 'expires_at'],
        ['key_packages', 'not_after'],
        ['key_package_claims', 'expires_at'],
        ['invites', 'expires_at'],
      ] as const) {
        this.db.prepare(`DELETE FROM ${table} WHERE ${column} <= ?`).run(now);
      }
      return { messages, entries, attachments };
    });
    // Overwritten pages still sit in the WAL until a checkpoint resets it.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued writes land before closing.
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}
