// The server's key transparency operator: every accepted account update (registration,
// device-list change, deletion) is appended to the KT log, epochs are published on a timer,
// and proofs are served to clients and auditors. It is the server's AccountLog: it records
// each update in the server store (as the interim log did) and then appends it to the KT
// log, idempotently, so that the startup reconciliation can replay unconfirmed versions.
import type { KtLogOperator } from '@ghostproof/kt';
import { KtLogOperator as Operator, formatNoteVerifierKey } from '@ghostproof/kt';
import type { Logger } from '../logger.js';
import type { AccountLog, AccountUpdate } from '../services/account-log.js';
import { StoreAccountLog } from '../services/account-log.js';
import type { Store } from '../storage/store.js';
import { loadOrCreateKtKeys } from './kt-keys.js';
import { SqliteKtStore } from './sqlite-kt-store.js';

export interface KeyTransparencyOptions {
  /** SQLite file of the log (kept apart from the server's database). */
  readonly databaseFile: string;
  /** File holding the log's signing key and VRF key (created on first start, mode 0600). */
  readonly keyFile: string;
  /** The log's origin: the checkpoint's first line and the signing key's name. */
  readonly origin: string;
  /** How often pending updates are published as an epoch. */
  readonly epochIntervalMs: number;
  /** An epoch is published at least this often even without updates (fresh checkpoints). */
  readonly maxEpochAgeMs: number;
  readonly store: Store;
  readonly log: Logger;
  readonly now: () => number;
}

/** The value logged for a deleted account: no device list. */
const DELETED = new Uint8Array(0);

export class KeyTransparency implements AccountLog {
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastPublished: number;

  private constructor(
    readonly operator: KtLogOperator,
    private readonly ktStore: SqliteKtStore,
    private readonly interim: StoreAccountLog,
    private readonly options: KeyTransparencyOptions,
  ) {
    this.lastPublished = options.now();
  }

  static async open(options: KeyTransparencyOptions): Promise<KeyTransparency> {
    const keys = loadOrCreateKtKeys(options.keyFile);
    const ktStore = new SqliteKtStore(options.databaseFile);
    const operator = await Operator.open({
      store: ktStore,
      origin: options.origin,
      signingKey: keys.signingKey,
      vrfSecretKey: keys.vrfSecretKey,
      now: options.now,
    });
    const kt = new KeyTransparency(operator, ktStore, new StoreAccountLog(options.store), options);
    kt.timer = setInterval(() => void kt.publishIfDue(), options.epochIntervalMs);
    kt.timer.unref();
    return kt;
  }

  /** Runs operator calls one at a time, in order. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async append(update: AccountUpdate): Promise<void> {
    await this.interim.append(update);
    await this.serial(async () => {
      const { label } = this.operator.vrf(update.username);
      const version = Number(update.version);
      if (await this.ktStore.getUpdate(label, version)) return; // Already logged (a replay at startup).
      const logged = await this.operator.append(update.username, update.signedDeviceList ?? DELETED);
      if (logged.version !== version) {
        this.options.log.error(
          { event: 'kt-version-mismatch', expected: version, logged: logged.version },
          'key transparency version differs from the account version',
        );
        throw new Error('key transparency: version mismatch');
      }
    });
  }

  /** Publishes an epoch when updates are pending, or when the last one is getting old. */
  async publishIfDue(): Promise<void> {
    const now = this.options.now();
    if (this.operator.pendingCount === 0 && now - this.lastPublished < this.options.maxEpochAgeMs) return;
    await this.publish().catch((error: unknown) => {
      this.options.log.error({ event: 'kt-publish-failed', err: String(error) }, 'epoch publication failed');
    });
  }

  /** Publishes an epoch now (tests and shutdown). */
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

  get checkpoint(): string {
    return this.operator.checkpoint;
  }

  lookup(username: string): Promise<Uint8Array> {
    return this.serial(() => this.operator.proveLookup(username));
  }

  monitor(username: string, fromVersion: number): Promise<Uint8Array> {
    return this.serial(() => this.operator.proveMonitor(username, fromVersion));
  }

  audit(fromSize: number, toSize: number): Promise<Uint8Array> {
    return this.serial(() => this.operator.proveAudit(fromSize, toSize));
  }

  consistency(fromSize: number, toSize: number): Promise<Uint8Array> {
    return this.serial(async () => this.operator.proveConsistency(fromSize, toSize));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.queue;
    this.ktStore.close();
  }
}
