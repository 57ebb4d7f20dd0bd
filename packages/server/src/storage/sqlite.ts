// The embedded storage adapter: one SQLite file (better-sqlite3) in WAL mode, with group
// commit. Every write is queued and all writes queued during one turn of the event loop run
// in a single transaction, each inside its own savepoint so that one failing write (a stale
// epoch, a taken name) fails alone. The promise of a write resolves only after that
// transaction committed, so "accepted" always means "on disk": with synchronous=FULL also
// through a power loss, with NORMAL through a crash of the process (kill -9) but not of the
// machine. Deleted rows are overwritten (secure_delete), and the WAL is truncated on every
// maintenance pass, so acknowledged ciphertext does not linger in the files. This class is
// the facade: the rules are in rules.ts, the SQL by table family in sqlite/.
import Database from 'better-sqlite3';
import { GroupCommitQueue, type Outcome } from './group-commit-queue.js';
import { migrations, SCHEMA_VERSION } from './schema.js';
import { SqliteAccounts } from './sqlite/accounts.js';
import { SqliteAttachments } from './sqlite/attachments.js';
import { SqliteDelivery } from './sqlite/delivery.js';
import { SqliteGroups } from './sqlite/groups.js';
import { SqliteKeyPackages } from './sqlite/key-packages.js';
import { SqliteSessions } from './sqlite/sessions.js';
import type * as store from './store.js';

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

export class SqliteStore implements store.Store {
  private readonly db: Database.Database;
  private readonly writes: GroupCommitQueue<() => unknown>;
  /** Runs a function in a transaction; inside the group commit's transaction, in a savepoint. */
  private readonly atomically: (run: () => unknown) => unknown;
  private readonly accounts: SqliteAccounts;
  private readonly sessions: SqliteSessions;
  private readonly keyPackages: SqliteKeyPackages;
  private readonly groups: SqliteGroups;
  private readonly delivery: SqliteDelivery;
  private readonly attachments: SqliteAttachments;
  private closing: Promise<void> | undefined;

  constructor(options: SqliteStoreOptions) {
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma(`secure_delete = ${options.secureDelete === false ? 'OFF' : 'ON'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.migrate();
    this.atomically = this.db.transaction((run: () => unknown) => run());
    this.groups = new SqliteGroups(this.db);
    this.sessions = new SqliteSessions(this.db);
    this.keyPackages = new SqliteKeyPackages(this.db, options.unsafeTestingRouteWelcomeByAnyClaim === true);
    this.accounts = new SqliteAccounts(this.db, this.groups, () => this.delivery);
    this.delivery = new SqliteDelivery(this.db, this.groups, {
      claimsOf: (refs, sender, now) => this.keyPackages.claimsOf(refs, sender, now),
      accountIds: (usernames) => this.accounts.ids(usernames),
    });
    this.attachments = new SqliteAttachments(this.db);
    this.writes = new GroupCommitQueue({
      runBatch: (batch) => this.runBatch(batch),
      onFlush: options.onFlush,
    });
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

  private write<T>(run: () => T): Promise<T> {
    return this.writes.push<T>(run);
  }

  /** One group commit: every write in its own savepoint, a failing one rolled back alone. */
  private runBatch(batch: readonly (() => unknown)[]): Outcome[] {
    const outcomes: Outcome[] = [];
    try {
      const saved = this.db.transaction(() => {
        for (const run of batch) {
          try {
            // A nested transaction is a savepoint: a failing write rolls back alone.
            outcomes.push({ ok: true, value: this.atomically(run) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
        return this.delivery.saveNextSeq();
      })();
      this.delivery.savedNextSeq(saved);
    } catch (error) {
      this.groups.clear();
      throw error;
    }
    return outcomes;
  }

  // ---- accounts ----------------------------------------------------------------------

  createAccount(account: store.NewAccount): Promise<store.AccountRecord> {
    return this.write(() => this.accounts.create(account));
  }

  async accountByUsername(username: string): Promise<store.AccountRecord | undefined> {
    return this.accounts.byUsername(username);
  }

  async accountById(id: store.AccountId): Promise<store.AccountRecord | undefined> {
    return this.accounts.byId(id);
  }

  updateDeviceList(change: store.DeviceListChange): Promise<store.AccountRecord> {
    return this.write(() => this.accounts.updateDeviceList(change));
  }

  deleteAccount(accountId: store.AccountId, now: number): Promise<void> {
    return this.write(() => this.accounts.delete(accountId, now));
  }

  markLogged(accountId: store.AccountId, sequence: bigint): Promise<void> {
    return this.write(() => this.accounts.markLogged(accountId, sequence));
  }

  async accountsAwaitingLog(): Promise<store.AccountRecord[]> {
    return this.accounts.awaitingLog();
  }

  appendAccountUpdate(update: store.AccountUpdate): Promise<void> {
    return this.write(() => this.accounts.appendUpdate(update));
  }

  async accountUpdates(username: string): Promise<store.AccountUpdate[]> {
    return this.accounts.updates(username);
  }

  async accountUpdatesNotLogged(limit: number): Promise<(store.AccountUpdate & { readonly seq: number })[]> {
    return this.accounts.updatesNotLogged(limit);
  }

  async markUpdatesLogged(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    return this.write(() => this.accounts.markUpdatesLogged(seqs));
  }

  // ---- invites and sessions ----------------------------------------------------------

  addInvites(codeHashes: readonly Uint8Array[], uses: number, expiresAt: number): Promise<void> {
    return this.write(() => this.sessions.addInvites(codeHashes, uses, expiresAt));
  }

  addChallenge(nonceHash: Uint8Array, expiresAt: number): Promise<void> {
    return this.write(() => this.sessions.addChallenge(nonceHash, expiresAt));
  }

  takeChallenge(nonceHash: Uint8Array): Promise<number | undefined> {
    return this.write(() => this.sessions.takeChallenge(nonceHash));
  }

  createSession(tokenHash: Uint8Array, mailbox: store.MailboxKey, expiresAt: number): Promise<void> {
    return this.write(() => this.sessions.createSession(tokenHash, mailbox, expiresAt));
  }

  async sessionByTokenHash(tokenHash: Uint8Array, now: number): Promise<store.SessionRecord | undefined> {
    return this.sessions.sessionByTokenHash(tokenHash, now);
  }

  // ---- key packages ------------------------------------------------------------------

  addKeyPackages(input: store.KeyPackageUpload): Promise<store.KeyPackageCount> {
    return this.write(() => this.keyPackages.add(input));
  }

  async countKeyPackages(mailbox: store.MailboxKey, now: number): Promise<store.KeyPackageCount> {
    return this.keyPackages.count(mailbox, now);
  }

  claimKeyPackages(input: store.KeyPackageClaim): Promise<store.ClaimResult[]> {
    return this.write(() => this.keyPackages.claim(input));
  }

  // ---- groups and messages -----------------------------------------------------------

  createGroup(groupId: Uint8Array, creator: store.MailboxKey, now: number): Promise<store.RoutingList> {
    return this.write(() => this.groups.create(groupId, creator, now));
  }

  async routingList(groupId: Uint8Array, member: store.MailboxKey): Promise<store.RoutingList> {
    return this.groups.routingList(groupId, member);
  }

  storeMessage(input: store.MessageInput): Promise<store.AcceptedSend> {
    return this.write(() => this.delivery.storeMessage(input));
  }

  sequenceCommit(input: store.CommitInput): Promise<store.AcceptedSend> {
    return this.write(() => this.delivery.sequenceCommit(input));
  }

  /** The arguments' defaults are those of the reader in sqlite/delivery.ts. */
  async pendingDeliveries(
    ...read: Parameters<store.Store['pendingDeliveries']>
  ): Promise<store.StoredDelivery[]> {
    return this.delivery.pending(...read);
  }

  ack(mailbox: store.MailboxKey, messageIds: readonly Uint8Array[]): Promise<number> {
    return this.write(() => this.delivery.ack(mailbox, messageIds));
  }

  // ---- attachments and maintenance ---------------------------------------------------

  createAttachment(record: store.AttachmentRecord, owner: store.MailboxKey): Promise<void> {
    return this.write(() => this.attachments.create(record, owner));
  }

  async attachment(id: Uint8Array, now: number): Promise<store.AttachmentRecord | undefined> {
    return this.attachments.byId(id, now);
  }

  async purgeExpired(now: number): Promise<store.PurgeResult> {
    const result = await this.write(() => this.attachments.purgeExpired(now));
    // Overwritten pages still sit in the WAL until a checkpoint resets it.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Let queued writes land before closing.
      await this.writes.close();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    })();
    return this.closing;
  }
}
