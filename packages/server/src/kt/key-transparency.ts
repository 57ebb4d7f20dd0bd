// The server's key transparency operator: every accepted account update (registration,
// device-list change, deletion) is appended to the KT log, epochs are published on a timer,
// and proofs are served to clients and auditors. It is the server's AccountLog: it records
// each update in the server store (as the interim log did) and then appends it to the KT
// log, idempotently, so that reconciliation can replay unconfirmed versions.
//
// One node keeps its log in a SQLite file of its own and is always its writer. Several nodes
// share one log in their PostgreSQL database (postgres-kt-store.ts): the node holding the
// writer's lease appends and publishes. Every node records each account update it accepts in
// the shared account log first; on every tick the writer appends, per account in version
// order, the ones no writer has logged yet (whichever node accepted them: registrations,
// device lists, deletions; after an upgrade, the whole history), and runs the `reconcile`
// hook (accounts whose version is not marked logged). The others are followers that catch up
// from the database before each answer, so any node serves reads, and a follower's `append`
// resolves once the writer logged the update. When the writer's connection ends (the node
// died, its backend was terminated), its lock is released, the next follower to tick takes
// the lease, replays the log from the database, and carries on; the node that lost it reopens
// as a follower, and an operator opened under one lease never writes under the next.
import { ApiError } from '@ghostproof/api';
import type { KtLogOperator, KtStore } from '@ghostproof/kt';
import { KtLogOperator as Operator, formatNoteVerifierKey } from '@ghostproof/kt';
import { describeError, type Logger } from '../logger.js';
import type { AccountLog, AccountUpdate } from '../services/account-log.js';
import { StoreAccountLog } from '../services/account-log.js';
import type { Store } from '../storage/store.js';
import { loadOrCreateKtKeys, type KtKeys } from './kt-keys.js';
import { PostgresKtStore } from './postgres-kt-store.js';
import { SqliteKtStore } from './sqlite-kt-store.js';

export interface KeyTransparencyOptions {
  /**
   * Where the log lives: a SQLite file of its own beside the server's database (one node),
   * or the PostgreSQL database several nodes share (a postgres:// URL).
   */
  readonly storage: { readonly sqliteFile: string } | { readonly postgres: string };
  /** File holding the log's signing key and VRF key (created on first start, mode 0600). */
  readonly keyFile: string;
  /** The log's origin: the checkpoint's first line and the signing key's name. */
  readonly origin: string;
  /** How often pending updates are published as an epoch (and a shared log's nodes tick). */
  readonly epochIntervalMs: number;
  /** An epoch is published at least this often even without updates (fresh checkpoints). */
  readonly maxEpochAgeMs: number;
  /** How long a follower's append waits for the writer to log the update. */
  readonly followerAppendWaitMs?: number;
  readonly store: Store;
  readonly log: Logger;
  readonly now: () => number;
}

/** The value logged for a deleted account: no device list. */
const DELETED = new Uint8Array(0);
/** Account updates the writer reads per tick from the account log. */
const LOG_BATCH = 1000;
/** How often a follower's append looks whether the writer has logged its update. */
const FOLLOWER_POLL_MS = 50;

interface Waiter {
  readonly label: Uint8Array;
  readonly version: number;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function notReady(): ApiError {
  return new ApiError('unavailable', 'key transparency: the log is not open yet', { retryAfterMs: 1000 });
}

export class KeyTransparency implements AccountLog {
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastPublished: number;
  /** Undefined while (re)opening: after losing the lease, or when the database was away. */
  private current: KtLogOperator | undefined;
  private ticking: Promise<void> | undefined;
  /** The lease the writer's operator was opened under. */
  private lease = 0;
  private closed = false;
  /** A follower's appends waiting for the writer to log them, and the loop looking for them. */
  private waiting: Waiter[] = [];
  private polling: Promise<void> | undefined;
  /** Set by the server once its account service exists: appends what other nodes accepted. */
  reconcile: (() => Promise<number>) | undefined;

  private constructor(
    private readonly keys: KtKeys,
    private readonly ktStore: SqliteKtStore | PostgresKtStore,
    private readonly interim: StoreAccountLog,
    private readonly options: KeyTransparencyOptions,
  ) {
    this.lastPublished = options.now();
  }

  static async open(options: KeyTransparencyOptions): Promise<KeyTransparency> {
    const keys = loadOrCreateKtKeys(options.keyFile);
    // The store reports a lost lease to the instance built around it.
    const built: { kt?: KeyTransparency } = {};
    const ktStore =
      'postgres' in options.storage
        ? await PostgresKtStore.open({
            connectionString: options.storage.postgres,
            onLeaseLost: () => built.kt?.leaseLost(),
          })
        : new SqliteKtStore(options.storage.sqliteFile);
    const kt = new KeyTransparency(keys, ktStore, new StoreAccountLog(options.store), options);
    built.kt = kt;
    try {
      await kt.runTurn();
    } catch (error) {
      await kt.close();
      throw error;
    }
    kt.timer = setInterval(() => void kt.tick(), options.epochIntervalMs);
    kt.timer.unref();
    return kt;
  }

  /** Whether several nodes share this log (through PostgreSQL). */
  get shared(): boolean {
    return this.ktStore instanceof PostgresKtStore;
  }

  /** Whether this node appends to and publishes the log now. */
  get isWriter(): boolean {
    return this.current?.isWriter ?? false;
  }

  /** The log operator this node runs now (tests and tools; it changes with the role). */
  get operator(): KtLogOperator {
    if (!this.current) throw notReady();
    return this.current;
  }

  private openOperator(store: KtStore, follower: boolean): Promise<KtLogOperator> {
    return Operator.open({
      store,
      origin: this.options.origin,
      signingKey: this.keys.signingKey,
      vrfSecretKey: this.keys.vrfSecretKey,
      now: this.options.now,
      follower,
    });
  }

  /** Runs operator calls one at a time, in order. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * One turn of the timer (and the first, at open): takes the lease if it is free, reopens
   * the operator if its role changed, catches a follower up, and on the writer logs what
   * other nodes accepted and publishes an epoch when one is due. Never two at once.
   */
  tick(): Promise<void> {
    return this.runTurn().catch((error: unknown) => {
      this.options.log.error(
        { event: 'kt-tick-failed', err: describeError(error) },
        'key transparency tick failed',
      );
    });
  }

  private runTurn(): Promise<void> {
    this.ticking ??= this.turn().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async turn(): Promise<void> {
    if (this.closed) return;
    const store = this.ktStore;
    const shared = store instanceof PostgresKtStore;
    const writer = shared ? await store.tryLease() : true;
    const lease = shared ? store.leaseNumber : 0;
    const current = this.current;
    if (!current || current.isWriter !== writer || current.isBroken || (writer && this.lease !== lease)) {
      await this.serial(async () => {
        this.current = undefined;
        try {
          this.current = await this.openOperator(store, !writer);
          this.lease = lease;
        } catch (error) {
          // A node that cannot open the log must not keep others from writing it.
          if (shared && writer) await store.releaseLease();
          throw error;
        }
      });
      this.options.log.info({ event: writer ? 'kt-writer' : 'kt-follower' }, 'key transparency role');
    } else if (!writer) {
      await current.sync(); // A store error leaves it usable; a bad log marks it broken.
    }
    if (!writer) return;
    try {
      if (shared) {
        await this.logOtherNodes();
        await this.reconcile?.();
      }
    } finally {
      // Whatever one account's update did, the log goes on being published.
      await this.publishIfDue();
    }
  }

  /**
   * The writer's share of a shared log: appends the account updates any node accepted and
   * no writer logged yet (registrations, device lists, deletions; on the first start after
   * an upgrade, all of them), per account in version order. An account whose next version
   * is not in the account log yet (its node is still writing it) waits for the next tick.
   */
  private async logOtherNodes(): Promise<void> {
    const operator = this.current;
    if (!operator?.isWriter) return;
    const updates = await this.options.store.accountUpdatesNotLogged(LOG_BATCH);
    if (updates.length === 0) return;
    const byAccount = new Map<string, (AccountUpdate & { seq: number })[]>();
    for (const u of updates) {
      let list = byAccount.get(u.username);
      if (!list) byAccount.set(u.username, (list = []));
      list.push(u);
    }
    const done: number[] = [];
    let appended = 0;
    for (const [username, list] of byAccount) {
      list.sort((a, b) => (a.version < b.version ? -1 : 1));
      for (const update of list) {
        const ok = await this.serial(async () => {
          const latest = operator.latestVersion(username);
          if (update.version <= BigInt(latest)) return true;
          if (update.version > BigInt(latest + 1)) return false;
          await this.appendOne(operator, update);
          appended++;
          return true;
        }).catch((error: unknown) => {
          this.options.log.error(
            { event: 'kt-log-update-failed', err: describeError(error) },
            'update not logged',
          );
          return false;
        });
        if (!ok) break;
        done.push(update.seq);
      }
    }
    await this.options.store.markUpdatesLogged(done);
    if (appended > 0) this.options.log.info({ event: 'kt-logged', count: appended }, 'logged updates');
  }

  /** The writer's connection ended: stop writing now, reopen as a follower on the next tick. */
  private leaseLost(): void {
    this.options.log.warn({ event: 'kt-lease-lost' }, 'key transparency writer lease lost');
    if (this.current?.isWriter) this.current = undefined;
    void this.tick();
  }

  async append(update: AccountUpdate): Promise<void> {
    await this.interim.append(update);
    const operator = this.operator;
    if (!operator.isWriter) {
      await this.awaitWriter(operator, update);
      return;
    }
    await this.serial(async () => {
      const version = Number(update.version);
      const latest = operator.latestVersion(update.username);
      if (version <= latest) return; // Already logged (a replay).
      if (version > latest + 1) {
        // Versions accepted but never logged (a crash, or another node's): in order, first.
        for (const earlier of await this.options.store.accountUpdates(update.username)) {
          if (earlier.version > BigInt(latest) && earlier.version < update.version) {
            await this.appendOne(operator, earlier);
          }
        }
      }
      await this.appendOne(operator, update);
    });
  }

  private async appendOne(operator: KtLogOperator, update: AccountUpdate): Promise<void> {
    const logged = await operator.append(update.username, update.signedDeviceList ?? DELETED);
    if (logged.version !== Number(update.version)) {
      this.options.log.error(
        { event: 'kt-version-mismatch', expected: Number(update.version), logged: logged.version },
        'key transparency version differs from the account version',
      );
      throw new Error('key transparency: version mismatch');
    }
  }

  /**
   * A follower's append: the writer logs the update on its next tick; wait for it. All the
   * appends waiting on this node are looked for together, in one query per poll.
   */
  private awaitWriter(operator: KtLogOperator, update: AccountUpdate): Promise<void> {
    const wait = this.options.followerAppendWaitMs ?? Math.max(10_000, 5 * this.options.epochIntervalMs);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({
        label: operator.vrf(update.username).label,
        version: Number(update.version),
        deadline: Date.now() + wait,
        resolve,
        reject,
      });
      this.polling ??= this.pollWaiting().finally(() => {
        this.polling = undefined;
      });
    });
  }

  private async pollWaiting(): Promise<void> {
    const store = this.ktStore;
    if (!(store instanceof PostgresKtStore)) return;
    while (this.waiting.length > 0) {
      await sleep(FOLLOWER_POLL_MS);
      const batch = this.waiting;
      this.waiting = [];
      let found: boolean[];
      try {
        found = await store.logged(batch);
      } catch {
        found = batch.map(() => false); // The database is away: look again, until the deadline.
      }
      const now = Date.now();
      batch.forEach((waiter, i) => {
        if (found[i]) waiter.resolve();
        else if (now >= waiter.deadline || this.closed) {
          waiter.reject(new Error('key transparency: the log writer has not logged the update yet'));
        } else this.waiting.push(waiter);
      });
    }
  }

  /** Publishes an epoch when updates are pending, or when the last one is getting old. */
  async publishIfDue(): Promise<void> {
    const operator = this.current;
    if (!operator?.isWriter) return;
    const now = this.options.now();
    if (operator.pendingCount === 0 && now - this.lastPublished < this.options.maxEpochAgeMs) return;
    await this.publish().catch((error: unknown) => {
      this.options.log.error(
        { event: 'kt-publish-failed', err: describeError(error) },
        'epoch publication failed',
      );
      // The operator refuses to serve after a failed write: reopen it from the store.
      if (this.current === operator) this.current = undefined;
    });
  }

  /** Publishes an epoch now (tests and shutdown); only the writer can. */
  publish(): Promise<string> {
    return this.serial(async () => {
      const note = await this.operator.publishEpoch();
      this.lastPublished = this.options.now();
      return note;
    });
  }

  get publicKeys(): { origin: string; logKey: string; vrfPublicKey: Uint8Array } {
    const keys = this.operator.publicKeys;
    return {
      origin: keys.origin,
      logKey: formatNoteVerifierKey(keys.logKey),
      vrfPublicKey: keys.vrfPublicKey,
    };
  }

  /**
   * An operator up to date with the log: the writer's own, or a follower that has read what
   * the writer committed. A client moving between nodes never sees the log go back.
   */
  private async fresh(): Promise<KtLogOperator> {
    const operator = this.operator;
    let size: number;
    try {
      size = await operator.sync();
    } catch (error) {
      throw new ApiError('unavailable', 'key transparency: the log is unavailable', {
        retryAfterMs: 1000,
        cause: error,
      });
    }
    if (size === 0) throw notReady();
    return operator;
  }

  async checkpoint(): Promise<string> {
    return (await this.fresh()).checkpoint;
  }

  async lookup(username: string): Promise<Uint8Array> {
    const operator = await this.fresh();
    return this.serial(() => operator.proveLookup(username));
  }

  async monitor(username: string, fromVersion: number): Promise<Uint8Array> {
    const operator = await this.fresh();
    return this.serial(() => operator.proveMonitor(username, fromVersion));
  }

  async audit(fromSize: number, toSize: number): Promise<Uint8Array> {
    const operator = await this.fresh();
    return this.serial(() => operator.proveAudit(fromSize, toSize));
  }

  async consistency(fromSize: number, toSize: number): Promise<Uint8Array> {
    const operator = await this.fresh();
    return this.serial(async () => operator.proveConsistency(fromSize, toSize));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    await this.polling;
    await this.queue;
    await this.ktStore.close();
  }
}
