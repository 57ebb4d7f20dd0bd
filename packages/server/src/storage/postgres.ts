// The storage adapter for several nodes: PostgreSQL through `pg`. Like the SQLite adapter it
// group-commits: every write queued during one turn of the event loop runs in one
// transaction, each inside its own savepoint so that one failing write (a stale epoch, a
// taken name) fails alone, and a write's promise resolves only after that transaction
// committed. Fan-out goes in multi-row statements (one INSERT for all mailbox entries of a
// message). Nothing is cached in the process: other nodes write the same rows, so the
// checks that matter (epoch compare-and-set, routing-list membership, idempotency by client
// id) are done in SQL inside the transaction. This class is the facade: the rules are in
// rules.ts, the SQL by table family in postgres/.
import type pg from 'pg';
import { GroupCommitQueue } from './group-commit-queue.js';
import { seqOf } from './ids.js';
import * as accounts from './postgres/accounts.js';
import * as attachments from './postgres/attachments.js';
import { runBatch, type AckInput, type PostgresWrite } from './postgres/batch.js';
import { openPool, poolReads, type Queryable } from './postgres/connection.js';
import * as delivery from './postgres/delivery.js';
import * as groups from './postgres/groups.js';
import * as keyPackages from './postgres/key-packages.js';
import { ackMany, pendingDeliveries } from './postgres/mailbox.js';
import { storeMessages } from './postgres/message-batch.js';
import * as sessions from './postgres/sessions.js';
import type * as store from './store.js';

export interface PostgresStoreOptions {
  /** postgres://user@host:port/database */
  readonly connectionString: string;
  /** Schema (namespace) to use, created if missing; default `public`. */
  readonly schema?: string;
  /** Connections in the pool. */
  readonly maxConnections?: number;
  /** Called after every group commit with the number of writes and the seconds it took. */
  readonly onFlush?: (writes: number, seconds: number) => void;
  /**
   * Test-only, default false: route a Welcome by anyone's claim of its key packages, as
   * before schema 3, so that a test can show the ghost Welcome this store otherwise refuses.
   */
  readonly unsafeTestingRouteWelcomeByAnyClaim?: boolean;
}

export class PostgresStore implements store.Store {
  /** Reads outside the group commit: a lost connection answers `unavailable`. */
  private readonly reads: Queryable;
  private readonly writes: GroupCommitQueue<PostgresWrite>;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    onFlush: ((writes: number, seconds: number) => void) | undefined,
    private readonly routeWelcomeByAnyClaim: boolean,
  ) {
    this.reads = poolReads(pool);
    this.writes = new GroupCommitQueue({
      runBatch: (batch) => runBatch(pool, { ackMany, storeMessages }, batch),
      onFlush,
    });
  }

  /** Connects, creates the schema if needed and migrates it to the current version. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = await openPool(options);
    return new PostgresStore(pool, options.onFlush, options.unsafeTestingRouteWelcomeByAnyClaim === true);
  }

  /** The schema version the database is at. */
  async schemaVersion(): Promise<number> {
    const { rows } = await this.reads.query<{ version: number }>('SELECT version FROM schema_version');
    return rows[0]?.version ?? 0;
  }

  private write<T>(
    run: (db: pg.ClientBase) => Promise<T>,
    together: Omit<PostgresWrite, 'run'> = {},
  ): Promise<T> {
    return this.writes.push<T>({ run, ...together });
  }

  // ---- accounts ----------------------------------------------------------------------

  createAccount(account: store.NewAccount): Promise<store.AccountRecord> {
    return this.write((db) => accounts.createAccount(db, account));
  }

  accountByUsername(username: string): Promise<store.AccountRecord | undefined> {
    return accounts.accountByUsername(this.reads, username);
  }

  accountById(id: store.AccountId): Promise<store.AccountRecord | undefined> {
    return accounts.accountById(this.reads, id);
  }

  updateDeviceList(change: store.DeviceListChange): Promise<store.AccountRecord> {
    return this.write((db) => accounts.updateDeviceList(db, change));
  }

  deleteAccount(accountId: store.AccountId, now: number): Promise<void> {
    return this.write((db) => accounts.deleteAccount(db, accountId, now));
  }

  markLogged(accountId: store.AccountId, sequence: bigint): Promise<void> {
    return this.write((db) => accounts.markLogged(db, accountId, sequence));
  }

  accountsAwaitingLog(): Promise<store.AccountRecord[]> {
    return accounts.accountsAwaitingLog(this.reads);
  }

  appendAccountUpdate(update: store.AccountUpdate): Promise<void> {
    return this.write((db) => accounts.appendAccountUpdate(db, update));
  }

  accountUpdates(username: string): Promise<store.AccountUpdate[]> {
    return accounts.accountUpdates(this.reads, username);
  }

  accountUpdatesNotLogged(limit: number): Promise<(store.AccountUpdate & { readonly seq: number })[]> {
    return accounts.accountUpdatesNotLogged(this.reads, limit);
  }

  async markUpdatesLogged(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    return this.write((db) => accounts.markUpdatesLogged(db, seqs));
  }

  // ---- invites and sessions ----------------------------------------------------------

  addInvites(codeHashes: readonly Uint8Array[], uses: number, expiresAt: number): Promise<void> {
    return this.write((db) => sessions.addInvites(db, codeHashes, uses, expiresAt));
  }

  addChallenge(nonceHash: Uint8Array, expiresAt: number): Promise<void> {
    return this.write((db) => sessions.addChallenge(db, nonceHash, expiresAt));
  }

  takeChallenge(nonceHash: Uint8Array): Promise<number | undefined> {
    return this.write((db) => sessions.takeChallenge(db, nonceHash));
  }

  createSession(tokenHash: Uint8Array, mailbox: store.MailboxKey, expiresAt: number): Promise<void> {
    return this.write((db) => sessions.createSession(db, tokenHash, mailbox, expiresAt));
  }

  sessionByTokenHash(tokenHash: Uint8Array, now: number): Promise<store.SessionRecord | undefined> {
    return sessions.sessionByTokenHash(this.reads, tokenHash, now);
  }

  // ---- key packages ------------------------------------------------------------------

  addKeyPackages(input: store.KeyPackageUpload): Promise<store.KeyPackageCount> {
    return this.write((db) => keyPackages.addKeyPackages(db, input));
  }

  countKeyPackages(mailbox: store.MailboxKey, now: number): Promise<store.KeyPackageCount> {
    return keyPackages.countKeyPackages(this.reads, mailbox, now);
  }

  claimKeyPackages(input: store.KeyPackageClaim): Promise<store.ClaimResult[]> {
    return this.write((db) => keyPackages.claimKeyPackages(db, input));
  }

  // ---- groups and messages -----------------------------------------------------------

  createGroup(groupId: Uint8Array, creator: store.MailboxKey, now: number): Promise<store.RoutingList> {
    return this.write((db) => groups.createGroup(db, groupId, creator, now));
  }

  routingList(groupId: Uint8Array, member: store.MailboxKey): Promise<store.RoutingList> {
    return groups.routingList(this.reads, groupId, member);
  }

  storeMessage(input: store.MessageInput): Promise<store.AcceptedSend> {
    return this.write((db) => delivery.storeMessage(db, input), { message: input });
  }

  sequenceCommit(input: store.CommitInput): Promise<store.AcceptedSend> {
    return this.write((db) => delivery.sequenceCommit(db, input, this.routeWelcomeByAnyClaim));
  }

  /** The arguments' defaults are those of the reader in postgres/mailbox.ts. */
  pendingDeliveries(...read: Parameters<store.Store['pendingDeliveries']>): Promise<store.StoredDelivery[]> {
    return pendingDeliveries(this.reads, ...read);
  }

  async ack(mailbox: store.MailboxKey, messageIds: readonly Uint8Array[]): Promise<number> {
    const seqs = messageIds.map(seqOf).filter((s): s is number => s !== undefined);
    if (seqs.length === 0) return 0;
    const ack: AckInput = { mailbox, seqs };
    return this.write(async (db) => (await ackMany(db, [ack]))[0]!, { ack });
  }

  // ---- attachments and maintenance ---------------------------------------------------

  createAttachment(record: store.AttachmentRecord, owner: store.MailboxKey): Promise<void> {
    return this.write((db) => attachments.createAttachment(db, record, owner));
  }

  attachment(id: Uint8Array, now: number): Promise<store.AttachmentRecord | undefined> {
    return attachments.attachment(this.reads, id, now);
  }

  purgeExpired(now: number): Promise<store.PurgeResult> {
    return this.write((db) => attachments.purgeExpired(db, now));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Let queued writes land before closing.
      await this.writes.close();
      await this.pool.end();
    })();
    return this.closing;
  }
}
