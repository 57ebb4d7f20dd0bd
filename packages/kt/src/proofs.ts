// Binary encodings of the proofs the operator serves and the verifier checks. Every proof
// starts with a 4-byte magic and a type byte; every count and length is bounded before it is
// used; trailing bytes are an error. Decoding checks form only: verifier.ts checks meaning.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from './bytes.js';
import { MAX_NOTE_BYTES } from './checkpoint.js';
import { KtError } from './errors.js';
import { LABEL_LENGTH, NONCE_LENGTH } from './hashing.js';
import { readLogEntryFields, writeLogEntryFields, type LogEntry } from './log-entry.js';
import { MAX_PROOF_HASHES } from './log-tree.js';
import { decodePartialTree, encodePartialTree, type PrefixNode } from './prefix-tree.js';
import { VRF_PROOF_LENGTH } from './vrf.js';

/** Limits on what a decoder accepts. The defaults suit a log of up to billions of accounts. */
export interface ProofLimits {
  /** The largest account value (identity key and signed device list). */
  readonly maxValueBytes: number;
  /** The most versions one monitoring proof may open. */
  readonly maxMonitorVersions: number;
  /** The most epochs one audit proof may cover. */
  readonly maxAuditEpochs: number;
  /** The most updates one audit proof may carry, over all its epochs. */
  readonly maxAuditUpdates: number;
  /** The most prefix-tree nodes one audit proof may carry, over all its epochs. */
  readonly maxAuditNodes: number;
}

export const DEFAULT_PROOF_LIMITS: ProofLimits = Object.freeze({
  maxValueBytes: 64 * 1024,
  maxMonitorVersions: 1024,
  maxAuditEpochs: 1024,
  maxAuditUpdates: 1 << 20,
  maxAuditNodes: 1 << 23,
});

/** A lookup path has at most 256 internal nodes, each with a sibling, plus its terminal. */
const MAX_PATH_NODES = 2 * 256 + 1;

const MAGIC = utf8('GPKT');
export const PROOF_LOOKUP = 1;
export const PROOF_MONITOR = 2;
export const PROOF_AUDIT = 3;
export const PROOF_CONSISTENCY = 4;

/** The parts shared by lookup and monitoring proofs: the newest epoch and one account's path. */
export interface EpochPath {
  /** The signed checkpoint note of the log at the newest epoch. */
  readonly checkpoint: string;
  /** The newest epoch's log entry: leaf `size - 1` of the checkpoint's tree. */
  readonly entry: LogEntry;
  /** RFC 9162 inclusion proof of `entry` in the checkpoint's tree. */
  readonly inclusion: readonly Uint8Array[];
  /** The VRF proof that the account's label is VRF(account name). */
  readonly vrfProof: Uint8Array;
  /** The prefix tree pruned to the account's path. */
  readonly tree: PrefixNode;
}

/** Opens one version's commitment: the nonce and the value. */
export interface VersionOpening {
  readonly nonce: Uint8Array;
  readonly value: Uint8Array;
}

export interface LookupProof extends EpochPath {
  /** Present if and only if the account exists: the latest version's opening and the head before it. */
  readonly latest?: VersionOpening & { readonly previousHead: Uint8Array };
}

export interface MonitorProof extends EpochPath {
  /** The version the monitor already knew (0 for none). */
  readonly fromVersion: number;
  /** Openings of versions fromVersion + 1, fromVersion + 2, ... up to the latest. */
  readonly versions: readonly VersionOpening[];
}

/** One update as the auditor sees it: no value, only its commitment. */
export interface AuditedUpdate {
  readonly label: Uint8Array;
  readonly version: number;
  readonly commitment: Uint8Array;
}

/** What an auditor needs to replay one epoch: its updates and the old tree pruned to them. */
export interface EpochDelta {
  readonly updates: readonly AuditedUpdate[];
  /** The previous epoch's prefix tree, pruned to the updated labels. */
  readonly tree: PrefixNode;
}

export interface AuditProof {
  /** The number of epochs the auditor has already verified (its checkpoint's size). */
  readonly fromSize: number;
  /** The complete-subtree roots of the log at `fromSize`, largest first. */
  readonly frontier: readonly Uint8Array[];
  /** Entry `fromSize - 1` and its inclusion proof in the log at `fromSize` (absent when 0). */
  readonly previous?: { readonly entry: LogEntry; readonly inclusion: readonly Uint8Array[] };
  /** Epochs fromSize, fromSize + 1, ..., each with its entry and delta. */
  readonly epochs: readonly { readonly entry: LogEntry; readonly delta: EpochDelta }[];
  /** The signed checkpoint at fromSize + epochs.length. */
  readonly checkpoint: string;
}

export interface ConsistencyProof {
  readonly fromSize: number;
  readonly toSize: number;
  readonly hashes: readonly Uint8Array[];
}

function writeHeader(w: ByteWriter, type: number): void {
  w.bytes(MAGIC).u8(type);
}

function readHeader(bytes: Uint8Array, type: number, maxBytes: number): ByteReader {
  if (!(bytes instanceof Uint8Array)) throw new KtError('invalid-input', 'proof: expected Uint8Array');
  if (bytes.length > maxBytes) throw new KtError('malformed', 'proof: larger than the limit');
  const r = new ByteReader(bytes);
  const magic = r.bytes('proof magic', 4);
  if (magic.some((b, i) => b !== MAGIC[i])) throw new KtError('malformed', 'proof: bad magic');
  if (r.u8('proof type') !== type) throw new KtError('malformed', 'proof: unexpected type');
  return r;
}

function writeHashes(w: ByteWriter, hashes: readonly Uint8Array[]): void {
  w.u8(hashes.length);
  for (const h of hashes) w.bytes(h);
}

function readHashes(r: ByteReader, field: string): Uint8Array[] {
  const n = r.count(field, 1, MAX_PROOF_HASHES);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.bytes(field, 32));
  return out;
}

function writeNote(w: ByteWriter, note: string): void {
  const bytes = utf8(note);
  w.u16(bytes.length).bytes(bytes);
}

function readNote(r: ByteReader): string {
  const bytes = r.bytes('checkpoint note', r.count('checkpoint note', 2, MAX_NOTE_BYTES));
  const text = fromUtf8(bytes);
  if (text === undefined) throw new KtError('malformed', 'checkpoint note: not valid UTF-8');
  return text;
}

function writeEpochPath(w: ByteWriter, p: EpochPath): void {
  writeNote(w, p.checkpoint);
  writeLogEntryFields(w, p.entry);
  writeHashes(w, p.inclusion);
  w.bytes(p.vrfProof);
  encodePartialTree(p.tree, w);
}

function readEpochPath(r: ByteReader): EpochPath {
  return {
    checkpoint: readNote(r),
    entry: readLogEntryFields(r),
    inclusion: readHashes(r, 'inclusion proof'),
    vrfProof: r.bytes('vrf proof', VRF_PROOF_LENGTH),
    tree: decodePartialTree(r, { nodes: MAX_PATH_NODES }),
  };
}

function maxBytesFor(limits: ProofLimits, versions: number): number {
  return 64 * 1024 + versions * (limits.maxValueBytes + 64);
}

export function encodeLookupProof(p: LookupProof): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, PROOF_LOOKUP);
  writeEpochPath(w, p);
  if (p.latest === undefined) {
    w.u8(0);
  } else {
    w.u8(1).bytes(p.latest.previousHead).bytes(p.latest.nonce).varBytes(p.latest.value);
  }
  return w.finish();
}

export function decodeLookupProof(
  bytes: Uint8Array,
  limits: ProofLimits = DEFAULT_PROOF_LIMITS,
): LookupProof {
  const r = readHeader(bytes, PROOF_LOOKUP, maxBytesFor(limits, 1));
  const path = readEpochPath(r);
  const present = r.u8('lookup opening flag');
  if (present > 1) throw new KtError('malformed', 'lookup opening flag: not 0 or 1');
  let proof: LookupProof = path;
  if (present === 1) {
    proof = {
      ...path,
      latest: {
        previousHead: r.bytes('previous head', 32),
        nonce: r.bytes('opening nonce', NONCE_LENGTH),
        value: r.varBytes('value', limits.maxValueBytes),
      },
    };
  }
  r.end('lookup proof');
  return proof;
}

export function encodeMonitorProof(p: MonitorProof): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, PROOF_MONITOR);
  writeEpochPath(w, p);
  w.u64(p.fromVersion).u32(p.versions.length);
  for (const v of p.versions) w.bytes(v.nonce).varBytes(v.value);
  return w.finish();
}

export function decodeMonitorProof(
  bytes: Uint8Array,
  limits: ProofLimits = DEFAULT_PROOF_LIMITS,
): MonitorProof {
  const r = readHeader(bytes, PROOF_MONITOR, maxBytesFor(limits, limits.maxMonitorVersions));
  const path = readEpochPath(r);
  const fromVersion = r.u64('monitor from version', 0xffffffff);
  const n = r.count('monitor versions', 4, limits.maxMonitorVersions);
  const versions: VersionOpening[] = [];
  for (let i = 0; i < n; i++) {
    versions.push({
      nonce: r.bytes('opening nonce', NONCE_LENGTH),
      value: r.varBytes('value', limits.maxValueBytes),
    });
  }
  r.end('monitor proof');
  return { ...path, fromVersion, versions };
}

export function writeEpochDelta(w: ByteWriter, d: EpochDelta): void {
  w.u32(d.updates.length);
  for (const u of d.updates) w.bytes(u.label).u64(u.version).bytes(u.commitment);
  encodePartialTree(d.tree, w);
}

interface Budget {
  updates: number;
  nodes: number;
}

function readEpochDelta(r: ByteReader, budget: Budget): EpochDelta {
  const n = r.count('epoch updates', 4, budget.updates);
  budget.updates -= n;
  const updates: AuditedUpdate[] = [];
  for (let i = 0; i < n; i++) {
    updates.push({
      label: r.bytes('update label', LABEL_LENGTH),
      version: r.u64('update version', 0xffffffff),
      commitment: r.bytes('update commitment', 32),
    });
  }
  return { updates, tree: decodePartialTree(r, budget) };
}

/** One epoch's delta as the operator stores it (see KtEpochRecord.delta). */
export function encodeEpochDelta(d: EpochDelta): Uint8Array {
  const w = new ByteWriter();
  writeEpochDelta(w, d);
  return w.finish();
}

export function decodeEpochDelta(bytes: Uint8Array, limits: ProofLimits = DEFAULT_PROOF_LIMITS): EpochDelta {
  const r = new ByteReader(bytes);
  const d = readEpochDelta(r, { updates: limits.maxAuditUpdates, nodes: limits.maxAuditNodes });
  r.end('epoch delta');
  return d;
}

export function encodeAuditProof(p: AuditProof): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, PROOF_AUDIT);
  w.u64(p.fromSize);
  writeHashes(w, p.frontier);
  if (p.previous === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    writeLogEntryFields(w, p.previous.entry);
    writeHashes(w, p.previous.inclusion);
  }
  w.u32(p.epochs.length);
  for (const e of p.epochs) {
    writeLogEntryFields(w, e.entry);
    writeEpochDelta(w, e.delta);
  }
  writeNote(w, p.checkpoint);
  return w.finish();
}

export function decodeAuditProof(bytes: Uint8Array, limits: ProofLimits = DEFAULT_PROOF_LIMITS): AuditProof {
  const maxBytes = 64 * 1024 + limits.maxAuditUpdates * 72 + limits.maxAuditNodes * 74;
  const r = readHeader(bytes, PROOF_AUDIT, maxBytes);
  const fromSize = r.u64('audit from size');
  const frontier = readHashes(r, 'audit frontier');
  const flag = r.u8('audit previous flag');
  if (flag > 1) throw new KtError('malformed', 'audit previous flag: not 0 or 1');
  const previous =
    flag === 1
      ? { entry: readLogEntryFields(r), inclusion: readHashes(r, 'audit previous inclusion') }
      : undefined;
  const n = r.count('audit epochs', 4, limits.maxAuditEpochs);
  const budget: Budget = { updates: limits.maxAuditUpdates, nodes: limits.maxAuditNodes };
  const epochs: { entry: LogEntry; delta: EpochDelta }[] = [];
  for (let i = 0; i < n; i++) epochs.push({ entry: readLogEntryFields(r), delta: readEpochDelta(r, budget) });
  const checkpoint = readNote(r);
  r.end('audit proof');
  return previous === undefined
    ? { fromSize, frontier, epochs, checkpoint }
    : { fromSize, frontier, previous, epochs, checkpoint };
}

export function encodeConsistencyProof(p: ConsistencyProof): Uint8Array {
  const w = new ByteWriter();
  writeHeader(w, PROOF_CONSISTENCY);
  w.u64(p.fromSize).u64(p.toSize);
  writeHashes(w, p.hashes);
  return w.finish();
}

export function decodeConsistencyProof(bytes: Uint8Array): ConsistencyProof {
  const r = readHeader(bytes, PROOF_CONSISTENCY, 16 + 8 + 8 + 1 + MAX_PROOF_HASHES * 32);
  const p = {
    fromSize: r.u64('from size'),
    toSize: r.u64('to size'),
    hashes: readHashes(r, 'consistency proof'),
  };
  r.end('consistency proof');
  return p;
}
