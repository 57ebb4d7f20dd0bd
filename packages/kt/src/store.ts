// What the log operator persists, behind a small async interface the server implements on
// its database, with an in-memory implementation for tests and benchmarks. The operator keeps
// its trees in memory and rebuilds them from `loadEpochs` at start-up; the store holds the
// durable record: accepted updates, and each published epoch with its signed checkpoint and
// the delta an auditor needs. Nothing secret is stored here: the VRF and checkpoint signing
// keys stay outside the database (DESIGN.md, "Key transparency").
import { bytesKey } from './bytes.js';
import type { LogEntry } from './log-entry.js';

/** One version of one account, as accepted by `KtLogOperator.append`. */
export interface KtUpdateRecord {
  /** The account's VRF label (32 bytes). */
  readonly label: Uint8Array;
  /** 1 for the first version, then one more per update. */
  readonly version: number;
  /** The commitment's random opening (32 bytes): reveals the value only with it. */
  readonly nonce: Uint8Array;
  /** The opaque value: identity key and signed device list. */
  readonly value: Uint8Array;
  /** The account's history head after this version. */
  readonly head: Uint8Array;
}

/** One published epoch. */
export interface KtEpochRecord {
  readonly entry: LogEntry;
  /** The signed checkpoint note for the log of `entry.epoch + 1` entries. */
  readonly checkpoint: string;
  /** The encoded EpochDelta (proofs.ts) auditors replay; computed once, at publication. */
  readonly delta: Uint8Array;
}

export interface KtStore {
  /** Durably records an accepted update before `append` returns. */
  addPending(update: KtUpdateRecord): Promise<void>;
  /** Updates accepted but not yet in a published epoch, in the order they were added. */
  loadPending(): Promise<KtUpdateRecord[]>;
  /**
   * Atomically records a published epoch and its updates (which were pending, in order) and
   * stops reporting them as pending.
   */
  commitEpoch(epoch: KtEpochRecord, updates: readonly KtUpdateRecord[]): Promise<void>;
  /**
   * Every published epoch from `fromEpoch` (default 0) on, in order, with its updates in
   * order: what start-up replays, and what a follower reads to catch up with the writer.
   */
  loadEpochs(
    fromEpoch?: number,
  ): AsyncIterable<{ readonly epoch: KtEpochRecord; readonly updates: readonly KtUpdateRecord[] }>;
  getEpoch(epoch: number): Promise<KtEpochRecord | undefined>;
  /** One version of one account, published or pending. */
  getUpdate(label: Uint8Array, version: number): Promise<KtUpdateRecord | undefined>;
}

/** A KtStore in memory: for tests, benchmarks, and as the reference for adapters. */
export class MemoryKtStore implements KtStore {
  private pending: KtUpdateRecord[] = [];
  private readonly epochs: { epoch: KtEpochRecord; updates: readonly KtUpdateRecord[] }[] = [];
  private readonly versions = new Map<string, KtUpdateRecord[]>();

  async addPending(update: KtUpdateRecord): Promise<void> {
    this.pending.push(update);
    const key = bytesKey(update.label);
    let list = this.versions.get(key);
    if (list === undefined) this.versions.set(key, (list = []));
    list[update.version - 1] = update;
  }

  async loadPending(): Promise<KtUpdateRecord[]> {
    return [...this.pending];
  }

  async commitEpoch(epoch: KtEpochRecord, updates: readonly KtUpdateRecord[]): Promise<void> {
    this.epochs.push({ epoch, updates });
    this.pending = this.pending.slice(updates.length);
  }

  async *loadEpochs(
    fromEpoch = 0,
  ): AsyncIterable<{ epoch: KtEpochRecord; updates: readonly KtUpdateRecord[] }> {
    for (const e of this.epochs.slice(fromEpoch)) yield e;
  }

  async getEpoch(epoch: number): Promise<KtEpochRecord | undefined> {
    return this.epochs[epoch]?.epoch;
  }

  async getUpdate(label: Uint8Array, version: number): Promise<KtUpdateRecord | undefined> {
    return this.versions.get(bytesKey(label))?.[version - 1];
  }

  /** Test hook: the raw epoch list, to model a server that rewrites its own history. */
  unsafeEpochsForTesting(): { epoch: KtEpochRecord; updates: readonly KtUpdateRecord[] }[] {
    return this.epochs;
  }
}
