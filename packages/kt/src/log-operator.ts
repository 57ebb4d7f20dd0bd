// The log operator: what the server runs. It accepts account updates (each raising the
// account's version by one), publishes an epoch on demand (applies the pending updates to the
// prefix tree, appends a log entry, signs a checkpoint, records the delta auditors replay),
// and produces lookup, monitoring, consistency and audit proofs. State lives in memory and is
// journaled through a KtStore; `open` rebuilds it from the store. Several server nodes share
// one log through one store: one of them at a time is the writer, the others open the
// operator as followers (no appends, no publication) and `sync` the epochs the writer
// committed before they answer.
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesKey, checkBytes, checkInteger, equalBytes } from './bytes.js';
import { noteVerifierKey, openCheckpoint, signCheckpoint, type NoteVerifierKey } from './checkpoint.js';
import { KtError } from './errors.js';
import { NONCE_LENGTH, ZERO_HEAD, commitValue, hashHistory } from './hashing.js';
import { encodeLogEntry, type LogEntry } from './log-entry.js';
import { LogTree } from './log-tree.js';
import { PrefixTree } from './prefix-tree.js';
import {
  DEFAULT_PROOF_LIMITS,
  encodeAuditProof,
  encodeConsistencyProof,
  encodeEpochDelta,
  encodeLookupProof,
  encodeMonitorProof,
  decodeEpochDelta,
  type AuditProof,
  type EpochDelta,
  type EpochPath,
  type ProofLimits,
} from './proofs.js';
import type { KtEpochRecord, KtStore, KtUpdateRecord } from './store.js';
import { accountVrfInput, labelFromVrfOutput, type KtTrustAnchor } from './verifier.js';
import { vrfProofToHash, vrfProve, vrfPublicKey } from './vrf.js';

export interface KtLogOperatorOptions {
  readonly store: KtStore;
  /** The log's identity and checkpoint key name, e.g. `chat.example/kt`. */
  readonly origin: string;
  /** 32-byte Ed25519 secret key that signs checkpoints. Kept outside the database. */
  readonly signingKey: Uint8Array;
  /** 32-byte VRF secret key. Kept outside the database. */
  readonly vrfSecretKey: Uint8Array;
  /** Clock in milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** Randomness for commitment nonces; injectable for tests. */
  readonly randomBytes?: (length: number) => Uint8Array;
  readonly limits?: ProofLimits;
  /** Most accounts whose VRF proofs are cached (proving costs a few milliseconds). */
  readonly vrfCacheSize?: number;
  /**
   * Read-only: another process writes the store. `open` neither loads pending updates nor
   * publishes a genesis epoch, `append` and `publishEpoch` refuse, and `sync` catches up.
   */
  readonly follower?: boolean;
}

/** What clients pin at registration, and what the server publishes for them. */
export interface KtPublicKeys {
  readonly origin: string;
  readonly logKey: NoteVerifierKey;
  readonly vrfPublicKey: Uint8Array;
}

interface VrfResult {
  readonly label: Uint8Array;
  readonly proof: Uint8Array;
}

/** Serializes state changes: publication awaits the store, and appends must not interleave. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

export class KtLogOperator {
  private readonly tree = new PrefixTree();
  private readonly log = new LogTree();
  private readonly entries: LogEntry[] = [];
  private readonly checkpoints: string[] = [];
  private pending: KtUpdateRecord[] = [];
  /** Latest pending (version, head) per label, ahead of the tree. */
  private readonly pendingHeads = new Map<string, { version: number; head: Uint8Array }>();
  private readonly vrfCache = new Map<string, VrfResult>();
  private readonly mutex = new Mutex();
  private broken = false;
  /** The log size whose newest checkpoint was verified against the log key. */
  private verifiedSize = 0;
  readonly publicKeys: KtPublicKeys;

  private constructor(private readonly options: KtLogOperatorOptions) {
    checkBytes('signing key', options.signingKey, 32);
    checkBytes('vrf secret key', options.vrfSecretKey, 32);
    this.publicKeys = {
      origin: options.origin,
      logKey: noteVerifierKey(options.origin, ed25519.getPublicKey(options.signingKey)),
      vrfPublicKey: vrfPublicKey(options.vrfSecretKey),
    };
  }

  /**
   * Rebuilds the operator from its store (replaying every epoch and checking each prefix
   * root against the recorded entry, and the newest checkpoint against this operator's key),
   * and, unless a follower, publishes the genesis epoch if the log is empty, so that there is
   * always a signed checkpoint to serve.
   */
  static async open(options: KtLogOperatorOptions): Promise<KtLogOperator> {
    const op = new KtLogOperator(options);
    await op.replay();
    if (options.follower) return op;
    for (const u of await options.store.loadPending()) op.queue(u);
    if (op.log.size === 0) await op.publishEpoch();
    return op;
  }

  /** Applies the epochs the store holds beyond this operator's, checking each one. */
  private async replay(): Promise<void> {
    try {
      for await (const { epoch, updates } of this.options.store.loadEpochs(this.log.size)) {
        for (const u of updates) this.tree.set(u.label, u.version, u.head);
        if (
          !equalBytes(this.tree.rootHash(), epoch.entry.prefixRoot) ||
          epoch.entry.epoch !== this.log.size
        ) {
          throw new KtError('internal', 'kt store: a stored epoch does not replay to its prefix root');
        }
        this.log.append(encodeLogEntry(epoch.entry));
        this.entries.push(epoch.entry);
        this.checkpoints.push(epoch.checkpoint);
      }
    } catch (error) {
      // A store that could not be read leaves whole epochs applied (each is applied only once
      // read entire); anything else is a log this operator must not serve.
      if (KtError.is(error)) this.broken = true;
      throw error;
    } finally {
      if (this.log.size > this.verifiedSize && !this.broken) this.verifyNewest();
    }
  }

  /**
   * The newest checkpoint must verify under this operator's own key and match the replayed
   * log: a log signed with another key (another key file on another node) is not ours to serve.
   */
  private verifyNewest(): void {
    try {
      const newest = openCheckpoint(this.checkpoint, this.publicKeys.logKey);
      if (newest.size !== this.log.size || !equalBytes(newest.rootHash, this.log.root())) {
        throw new KtError('inconsistent', 'kt store: the newest checkpoint does not match the log');
      }
    } catch (error) {
      this.broken = true;
      throw error;
    }
    this.verifiedSize = this.log.size;
  }

  /**
   * A follower's catch-up: applies the epochs the writer committed since the last call and
   * returns the log's size. A no-op for the writer, whose memory is the newest state.
   */
  async sync(): Promise<number> {
    if (!this.options.follower) return this.log.size;
    return this.mutex.run(async () => {
      this.checkUsable();
      await this.replay();
      return this.log.size;
    });
  }

  /** Whether a failed write or a bad stored log stopped this operator (reopen it). */
  get isBroken(): boolean {
    return this.broken;
  }

  /** Whether this operator may append and publish. */
  get isWriter(): boolean {
    return !this.options.follower;
  }

  /** The trust anchor a client pins (the same object the verifier takes). */
  get trustAnchor(): KtTrustAnchor {
    return { logKey: this.publicKeys.logKey, vrfPublicKey: this.publicKeys.vrfPublicKey };
  }

  /** The number of published epochs (the newest checkpoint's tree size). */
  get size(): number {
    return this.log.size;
  }

  get accountCount(): number {
    return this.tree.size;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** The newest signed checkpoint note. */
  get checkpoint(): string {
    return this.checkpoints[this.checkpoints.length - 1]!;
  }

  /** The signed checkpoint note for the log of `size` epochs. */
  checkpointAt(size: number): string {
    checkInteger('size', size, 1, this.log.size);
    return this.checkpoints[size - 1]!;
  }

  /** The account's label and VRF proof (cached: proving costs a few milliseconds). */
  vrf(account: string): VrfResult {
    const hit = this.vrfCache.get(account);
    if (hit !== undefined) return hit;
    const proof = vrfProve(this.options.vrfSecretKey, accountVrfInput(account));
    const result = { label: labelFromVrfOutput(vrfProofToHash(proof)), proof };
    if (this.vrfCache.size >= (this.options.vrfCacheSize ?? 10_000)) {
      this.vrfCache.delete(this.vrfCache.keys().next().value!);
    }
    this.vrfCache.set(account, result);
    return result;
  }

  private queue(u: KtUpdateRecord): void {
    this.pending.push(u);
    this.pendingHeads.set(bytesKey(u.label), { version: u.version, head: u.head });
  }

  private checkUsable(): void {
    if (this.broken)
      throw new KtError('internal', 'kt operator: a store write failed; reopen from the store');
  }

  private checkWriter(): void {
    if (this.options.follower) throw new KtError('internal', 'kt operator: a follower does not write');
  }

  /** The newest version of `account` accepted (published or pending); 0 if none. */
  latestVersion(account: string): number {
    const { label } = this.vrf(account);
    return (this.pendingHeads.get(bytesKey(label)) ?? this.tree.get(label))?.version ?? 0;
  }

  /**
   * Accepts a new version of `account`'s value (identity key and signed device list) for the
   * next epoch. Resolves once the update is durable in the store, with the version it got.
   */
  async append(account: string, value: Uint8Array): Promise<{ readonly version: number }> {
    checkBytes('value', value);
    const limits = this.options.limits ?? DEFAULT_PROOF_LIMITS;
    if (value.length > limits.maxValueBytes) throw new KtError('invalid-input', 'value: too large');
    const { label } = this.vrf(account);
    const valueCopy = value.slice();
    return this.mutex.run(async () => {
      this.checkUsable();
      this.checkWriter();
      const key = bytesKey(label);
      const current = this.pendingHeads.get(key) ?? this.tree.get(label);
      const version = (current?.version ?? 0) + 1;
      const nonce = (this.options.randomBytes ?? randomBytes)(NONCE_LENGTH);
      checkBytes('random nonce', nonce, NONCE_LENGTH);
      const head = hashHistory(
        current?.head ?? ZERO_HEAD,
        version,
        commitValue(nonce, label, version, valueCopy),
      );
      const update: KtUpdateRecord = { label, version, nonce, value: valueCopy, head };
      await this.options.store.addPending(update);
      this.queue(update);
      return { version };
    });
  }

  /**
   * Publishes an epoch with every pending update (possibly none: an empty epoch still
   * proves the log is alive) and returns its signed checkpoint note.
   */
  async publishEpoch(): Promise<string> {
    return this.mutex.run(async () => {
      this.checkUsable();
      this.checkWriter();
      const updates = this.pending;
      const labels = new Map<string, Uint8Array>();
      for (const u of updates) labels.set(bytesKey(u.label), u.label);
      // The old tree, pruned to the labels that change: what an auditor replays.
      const before = this.tree.prove([...labels.values()]);
      const delta: EpochDelta = {
        updates: updates.map((u) => ({
          label: u.label,
          version: u.version,
          commitment: commitValue(u.nonce, u.label, u.version, u.value),
        })),
        tree: before,
      };
      // From here on memory runs ahead of the store until commitEpoch succeeds.
      this.broken = true;
      for (const u of updates) this.tree.set(u.label, u.version, u.head);
      const last = this.entries[this.entries.length - 1];
      const entry: LogEntry = {
        epoch: this.log.size,
        timestampMs: Math.max(Math.floor((this.options.now ?? Date.now)()), last?.timestampMs ?? 0),
        prefixRoot: this.tree.rootHash(),
        updateCount: updates.length,
      };
      this.log.append(encodeLogEntry(entry));
      const checkpoint = signCheckpoint(
        { origin: this.options.origin, size: this.log.size, rootHash: this.log.root() },
        this.options.signingKey,
      );
      const record: KtEpochRecord = { entry, checkpoint, delta: encodeEpochDelta(delta) };
      await this.options.store.commitEpoch(record, updates);
      this.entries.push(entry);
      this.checkpoints.push(checkpoint);
      this.verifiedSize = this.log.size; // Signed here, with this operator's own key.
      this.pending = [];
      this.pendingHeads.clear();
      this.broken = false;
      return checkpoint;
    });
  }

  private epochPath(vrf: VrfResult): EpochPath {
    const size = this.log.size;
    if (size === 0) throw new KtError('not-found', 'kt operator: no epoch published yet');
    return {
      checkpoint: this.checkpoints[size - 1]!,
      entry: this.entries[size - 1]!,
      inclusion: this.log.inclusionProof(size - 1, size),
      vrfProof: vrf.proof,
      tree: this.tree.prove([vrf.label]),
    };
  }

  private async record(label: Uint8Array, version: number): Promise<KtUpdateRecord> {
    const r = await this.options.store.getUpdate(label, version);
    if (r === undefined) throw new KtError('internal', 'kt store: a published version is missing');
    return r;
  }

  /** A lookup proof of `account`'s latest published version (or of its absence). */
  async proveLookup(account: string): Promise<Uint8Array> {
    const vrf = this.vrf(account);
    return this.mutex.run(async () => {
      this.checkUsable();
      const path = this.epochPath(vrf);
      const leaf = this.tree.get(vrf.label);
      if (leaf === undefined) return encodeLookupProof(path);
      const latest = await this.record(vrf.label, leaf.version);
      const previousHead =
        leaf.version > 1 ? (await this.record(vrf.label, leaf.version - 1)).head : ZERO_HEAD;
      return encodeLookupProof({
        ...path,
        latest: { previousHead, nonce: latest.nonce, value: latest.value },
      });
    });
  }

  /**
   * A monitoring proof of every published version of `account` after `fromVersion` (the
   * newest the device has verified; 0 for all).
   */
  async proveMonitor(account: string, fromVersion: number): Promise<Uint8Array> {
    const limits = this.options.limits ?? DEFAULT_PROOF_LIMITS;
    checkInteger('fromVersion', fromVersion, 0, 0xffffffff);
    const vrf = this.vrf(account);
    return this.mutex.run(async () => {
      this.checkUsable();
      const path = this.epochPath(vrf);
      const latest = this.tree.get(vrf.label)?.version ?? 0;
      if (fromVersion > latest) throw new KtError('not-found', 'monitor: version not published');
      if (latest - fromVersion > limits.maxMonitorVersions) {
        throw new KtError('invalid-input', 'monitor: too many versions for one proof');
      }
      const versions = [];
      for (let v = fromVersion + 1; v <= latest; v++) {
        const r = await this.record(vrf.label, v);
        versions.push({ nonce: r.nonce, value: r.value });
      }
      return encodeMonitorProof({ ...path, fromVersion, versions });
    });
  }

  /** An RFC 9162 consistency proof between two published sizes (default: to the newest). */
  proveConsistency(fromSize: number, toSize = this.log.size): Uint8Array {
    checkInteger('toSize', toSize, 0, this.log.size);
    checkInteger('fromSize', fromSize, 0, toSize);
    return encodeConsistencyProof({ fromSize, toSize, hashes: this.log.consistencyProof(fromSize, toSize) });
  }

  /**
   * An audit proof for epochs fromSize .. toSize - 1 (at most `limits.maxAuditEpochs` of
   * them; an auditor pages through the log), ending at the signed checkpoint of `toSize`.
   */
  async proveAudit(fromSize: number, toSize?: number): Promise<Uint8Array> {
    const limits = this.options.limits ?? DEFAULT_PROOF_LIMITS;
    checkInteger('fromSize', fromSize, 0, this.log.size - 1);
    const end = Math.min(toSize ?? this.log.size, fromSize + limits.maxAuditEpochs, this.log.size);
    checkInteger('toSize', end, fromSize + 1, this.log.size);
    const epochs: AuditProof['epochs'][number][] = [];
    for (let i = fromSize; i < end; i++) {
      const record = await this.options.store.getEpoch(i);
      if (record === undefined) throw new KtError('internal', 'kt store: a published epoch is missing');
      epochs.push({ entry: record.entry, delta: decodeEpochDelta(record.delta, limits) });
    }
    const previous =
      fromSize === 0
        ? undefined
        : { entry: this.entries[fromSize - 1]!, inclusion: this.log.inclusionProof(fromSize - 1, fromSize) };
    const proof: AuditProof = {
      fromSize,
      frontier: this.log.frontier(fromSize),
      ...(previous === undefined ? {} : { previous }),
      epochs,
      checkpoint: this.checkpoints[end - 1]!,
    };
    return encodeAuditProof(proof);
  }
}

function randomBytes(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}
