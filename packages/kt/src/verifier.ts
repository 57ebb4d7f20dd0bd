// The one verifier, shared by clients (lookups, monitoring, checkpoint consistency) and
// auditors (append-only proofs). Every function takes the pinned trust anchor, decodes the
// proof with bounded decoders, and either returns what was proven or throws a KtError.
import { checkBytes, equalBytes, utf8 } from './bytes.js';
import { openCheckpoint, type Checkpoint, type NoteVerifierKey } from './checkpoint.js';
import { KtError } from './errors.js';
import { LABEL_LENGTH, ZERO_HEAD, commitValue, hashHistory } from './hashing.js';
import { logEntryLeafHash, type LogEntry } from './log-entry.js';
import { appendToFrontier, rootFromFrontier, verifyConsistency, verifyInclusion } from './log-tree.js';
import {
  DEFAULT_PROOF_LIMITS,
  decodeAuditProof,
  decodeConsistencyProof,
  decodeLookupProof,
  decodeMonitorProof,
  type EpochPath,
  type LookupProof,
  type ProofLimits,
} from './proofs.js';
import {
  EMPTY_NODE,
  PREFIX_LEAF,
  PREFIX_PRUNED,
  findTerminal,
  insertLeaf,
  lookupLeaf,
  prefixLeaf,
  prefixNodeHash,
  type PrefixLeaf,
} from './prefix-tree.js';
import { vrfVerify } from './vrf.js';

/** What a client pins at registration: the log's checkpoint key (its name is the origin) and VRF key. */
export interface KtTrustAnchor {
  readonly logKey: NoteVerifierKey;
  readonly vrfPublicKey: Uint8Array;
}

export const MAX_ACCOUNT_BYTES = 256;

/** The VRF input for an account name: a tagged UTF-8 string, so labels mean nothing elsewhere. */
export function accountVrfInput(account: string): Uint8Array {
  if (typeof account !== 'string' || account.length === 0) {
    throw new KtError('invalid-input', 'account: expected a non-empty string');
  }
  const bytes = utf8(account);
  if (bytes.length > MAX_ACCOUNT_BYTES) throw new KtError('invalid-input', 'account: too long');
  const out = new Uint8Array(ACCOUNT_PREFIX.length + bytes.length);
  out.set(ACCOUNT_PREFIX);
  out.set(bytes, ACCOUNT_PREFIX.length);
  return out;
}
const ACCOUNT_PREFIX = utf8('ghostproof/kt/v1/account\0');

/** The label is the first 32 bytes of the 64-byte VRF output. */
export function labelFromVrfOutput(beta: Uint8Array): Uint8Array {
  return beta.slice(0, LABEL_LENGTH);
}

/** Verifies the VRF proof and returns the account's label. */
export function verifyAccountLabel(anchor: KtTrustAnchor, account: string, vrfProof: Uint8Array): Uint8Array {
  return labelFromVrfOutput(vrfVerify(anchor.vrfPublicKey, accountVrfInput(account), vrfProof));
}

/** A checkpoint and the newest entry it was proven to contain. */
export interface VerifiedEpoch {
  readonly checkpoint: Checkpoint;
  /** The signed note, kept as evidence: two signed checkpoints that disagree prove a fork. */
  readonly checkpointNote: string;
  readonly entry: LogEntry;
}

function verifyEpoch(anchor: KtTrustAnchor, p: EpochPath, previous: Checkpoint | undefined): VerifiedEpoch {
  const checkpoint = openCheckpoint(p.checkpoint, anchor.logKey);
  if (checkpoint.size === 0) throw new KtError('verification-failed', 'checkpoint: the log is empty');
  if (p.entry.epoch !== checkpoint.size - 1) {
    throw new KtError('verification-failed', 'log entry: not the newest epoch of the checkpoint');
  }
  verifyInclusion(
    logEntryLeafHash(p.entry),
    p.entry.epoch,
    checkpoint.size,
    p.inclusion,
    checkpoint.rootHash,
  );
  if (previous !== undefined) checkNotOlder(previous, checkpoint);
  return { checkpoint, checkpointNote: p.checkpoint, entry: p.entry };
}

/**
 * A client never accepts a checkpoint smaller than the newest it holds, nor a different root
 * for the same size. (A larger one needs a consistency proof: verifyConsistencyProof.)
 */
function checkNotOlder(previous: Checkpoint, next: Checkpoint): void {
  if (next.size < previous.size) throw new KtError('inconsistent', 'checkpoint: older than one already seen');
  if (next.size === previous.size && !equalBytes(next.rootHash, previous.rootHash)) {
    throw new KtError('inconsistent', 'checkpoint: two roots for one tree size (a fork)');
  }
}

function verifyPrefixRoot(p: EpochPath): void {
  if (!equalBytes(prefixNodeHash(p.tree), p.entry.prefixRoot)) {
    throw new KtError('verification-failed', 'prefix proof: does not lead to the epoch’s prefix root');
  }
}

function terminalLeaf(p: EpochPath, label: Uint8Array): PrefixLeaf | undefined {
  const terminal = findTerminal(p.tree, label);
  if (terminal.kind === PREFIX_PRUNED) {
    throw new KtError('verification-failed', 'prefix proof: does not reach the label');
  }
  return terminal.kind === PREFIX_LEAF && equalBytes(terminal.label, label) ? terminal : undefined;
}

export interface VerifiedLookup extends VerifiedEpoch {
  readonly label: Uint8Array;
  /** 0 when the account does not exist. */
  readonly version: number;
  /** The latest value (identity key and signed device list), when the account exists. */
  readonly value?: Uint8Array;
  /** The account's history head at `version` (32 zero bytes for none). */
  readonly head: Uint8Array;
}

export interface VerifyOptions {
  /** The newest checkpoint the caller already holds: an older or forked one is refused. */
  readonly previous?: Checkpoint;
  readonly limits?: ProofLimits;
}

/**
 * Verifies a lookup proof for `account`: the VRF proof of its label, the checkpoint
 * signature, the newest entry's inclusion, the prefix path, and the opening of the latest
 * version. An absent account is a verified result with version 0.
 */
export function verifyLookupProof(
  anchor: KtTrustAnchor,
  account: string,
  proofBytes: Uint8Array,
  options: VerifyOptions = {},
): VerifiedLookup {
  const proof = decodeLookupProof(proofBytes, options.limits ?? DEFAULT_PROOF_LIMITS);
  return checkLookup(anchor, verifyAccountLabel(anchor, account, proof.vrfProof), proof, options.previous);
}

/**
 * The lookup checks after the VRF: for a caller that already verified the label (a device
 * monitoring its own account keeps it), and what the benchmark's verify_ms measures.
 */
export function verifyLookupPaths(
  anchor: KtTrustAnchor,
  label: Uint8Array,
  proofBytes: Uint8Array,
  options: VerifyOptions = {},
): VerifiedLookup {
  checkBytes('label', label, LABEL_LENGTH);
  const proof = decodeLookupProof(proofBytes, options.limits ?? DEFAULT_PROOF_LIMITS);
  return checkLookup(anchor, label, proof, options.previous);
}

function checkLookup(
  anchor: KtTrustAnchor,
  label: Uint8Array,
  proof: LookupProof,
  previous: Checkpoint | undefined,
): VerifiedLookup {
  const epoch = verifyEpoch(anchor, proof, previous);
  verifyPrefixRoot(proof);
  const leaf = terminalLeaf(proof, label);
  if (leaf === undefined) {
    if (proof.latest !== undefined)
      throw new KtError('verification-failed', 'lookup: opening for an absent account');
    return { ...epoch, label, version: 0, head: ZERO_HEAD };
  }
  if (proof.latest === undefined) throw new KtError('verification-failed', 'lookup: missing opening');
  const { previousHead, nonce, value } = proof.latest;
  const commitment = commitValue(nonce, label, leaf.version, value);
  if (!equalBytes(hashHistory(previousHead, leaf.version, commitment), leaf.head)) {
    throw new KtError('verification-failed', 'lookup: the value does not open the leaf’s commitment');
  }
  return { ...epoch, label, version: leaf.version, value, head: leaf.head };
}

/** What a device remembers about its own account between monitoring rounds. */
export interface MonitorState {
  readonly label: Uint8Array;
  /** The newest version verified so far (0 before the account exists). */
  readonly version: number;
  /** The history head at `version` (32 zero bytes for 0). */
  readonly head: Uint8Array;
  /** The newest checkpoint verified so far. */
  readonly checkpoint?: Checkpoint;
}

export interface VerifiedMonitor extends VerifiedEpoch {
  readonly state: MonitorState;
  /** Every version after the previous state's, in order, with its value: check each one. */
  readonly versions: readonly { readonly version: number; readonly value: Uint8Array }[];
}

/**
 * Verifies a monitoring proof: every version of the account since `state` (or since its
 * creation, when `state` is undefined) opens, in order, a hash chain that ends in the head
 * the newest epoch's prefix tree holds for the account. A version hidden, altered or
 * reordered by the server breaks the chain. The caller must then check each returned value
 * (e.g. that every device in the device list is one it linked).
 */
export function verifyMonitorProof(
  anchor: KtTrustAnchor,
  account: string,
  state: MonitorState | undefined,
  proofBytes: Uint8Array,
  options: { readonly limits?: ProofLimits } = {},
): VerifiedMonitor {
  const proof = decodeMonitorProof(proofBytes, options.limits ?? DEFAULT_PROOF_LIMITS);
  const label = verifyAccountLabel(anchor, account, proof.vrfProof);
  const start: MonitorState = state ?? { label, version: 0, head: ZERO_HEAD };
  if (!equalBytes(start.label, label)) throw new KtError('verification-failed', 'monitor: label changed');
  if (proof.fromVersion !== start.version) {
    throw new KtError('verification-failed', 'monitor: proof starts at another version');
  }
  const epoch = verifyEpoch(anchor, proof, start.checkpoint);
  verifyPrefixRoot(proof);
  let head = start.head;
  let version = start.version;
  const versions: { version: number; value: Uint8Array }[] = [];
  for (const opening of proof.versions) {
    version++;
    head = hashHistory(head, version, commitValue(opening.nonce, label, version, opening.value));
    versions.push({ version, value: opening.value });
  }
  const leaf = terminalLeaf(proof, label);
  const ok = leaf === undefined ? version === 0 : leaf.version === version && equalBytes(leaf.head, head);
  if (!ok) throw new KtError('verification-failed', 'monitor: the versions do not chain to the log’s head');
  return { ...epoch, state: { label, version, head, checkpoint: epoch.checkpoint }, versions };
}

/**
 * Verifies that the signed checkpoint `note` extends `older` (RFC 9162 consistency). Returns
 * the newer checkpoint. A client keeps both signed notes if this fails: they are the
 * evidence of a fork.
 */
export function verifyConsistencyProof(
  anchor: KtTrustAnchor,
  older: Checkpoint,
  note: string,
  proofBytes: Uint8Array,
): Checkpoint {
  const newer = openCheckpoint(note, anchor.logKey);
  const proof = decodeConsistencyProof(proofBytes);
  if (proof.fromSize !== older.size || proof.toSize !== newer.size) {
    throw new KtError('verification-failed', 'consistency proof: for other tree sizes');
  }
  verifyConsistency(older.size, newer.size, proof.hashes, older.rootHash, newer.rootHash);
  return newer;
}

/** What an auditor reports after verifying a range of epochs. */
export interface AuditResult {
  /** The newest checkpoint verified; the next audit starts here. */
  readonly checkpoint: Checkpoint;
  readonly checkpointNote: string;
  readonly epochsVerified: number;
  readonly updatesVerified: number;
}

/**
 * Verifies an audit proof from `from` (the auditor's last verified checkpoint, or undefined
 * to start at genesis). For every epoch: the entry's number follows the previous one, its
 * time does not go back, the old prefix tree pruned to the updated labels hashes to the
 * previous epoch's prefix root, each update raises its account's version by exactly one and
 * extends its history chain, and applying the updates gives exactly the entry's prefix root.
 * Then the entries, appended to the log at `from`, must give exactly the signed newer
 * checkpoint's root: the log only grew, and grew by these entries.
 */
export function verifyAuditProof(
  anchor: KtTrustAnchor,
  from: Checkpoint | undefined,
  proofBytes: Uint8Array,
  options: { readonly limits?: ProofLimits } = {},
): AuditResult {
  const proof = decodeAuditProof(proofBytes, options.limits ?? DEFAULT_PROOF_LIMITS);
  const start = from ?? { origin: anchor.logKey.name, size: 0, rootHash: rootFromFrontier([]) };
  if (proof.fromSize !== start.size)
    throw new KtError('verification-failed', 'audit: proof starts elsewhere');
  const frontier = [...proof.frontier];
  if (!equalBytes(rootFromFrontier(frontier), start.rootHash)) {
    throw new KtError('inconsistent', 'audit: the log at the starting size is not the one verified before');
  }
  let prefixRoot = prefixNodeHash(EMPTY_NODE);
  let lastTimestamp = 0;
  if (start.size > 0) {
    if (proof.previous === undefined)
      throw new KtError('verification-failed', 'audit: missing previous entry');
    const { entry, inclusion } = proof.previous;
    if (entry.epoch !== start.size - 1)
      throw new KtError('verification-failed', 'audit: wrong previous entry');
    verifyInclusion(logEntryLeafHash(entry), entry.epoch, start.size, inclusion, start.rootHash);
    prefixRoot = entry.prefixRoot;
    lastTimestamp = entry.timestampMs;
  } else if (proof.previous !== undefined) {
    throw new KtError('verification-failed', 'audit: previous entry for an empty log');
  }
  let size = start.size;
  let updatesVerified = 0;
  for (const { entry, delta } of proof.epochs) {
    if (entry.epoch !== size) throw new KtError('inconsistent', 'audit: epochs out of sequence');
    if (entry.timestampMs < lastTimestamp) throw new KtError('invalid-update', 'audit: time went backwards');
    if (entry.updateCount !== delta.updates.length) {
      throw new KtError('invalid-update', 'audit: update count differs from the updates given');
    }
    let tree = delta.tree;
    if (!equalBytes(prefixNodeHash(tree), prefixRoot)) {
      throw new KtError('inconsistent', 'audit: the epoch does not start from the previous prefix tree');
    }
    for (const u of delta.updates) {
      const old = lookupLeaf(tree, u.label);
      const oldVersion = old?.version ?? 0;
      if (u.version !== oldVersion + 1) {
        throw new KtError('invalid-update', 'audit: a version did not grow by exactly one');
      }
      const head = hashHistory(old?.head ?? ZERO_HEAD, u.version, u.commitment);
      tree = insertLeaf(tree, 0, prefixLeaf(u.label, u.version, head));
    }
    if (!equalBytes(prefixNodeHash(tree), entry.prefixRoot)) {
      throw new KtError('invalid-update', 'audit: the updates do not produce the epoch’s prefix root');
    }
    appendToFrontier(frontier, size, logEntryLeafHash(entry));
    size++;
    prefixRoot = entry.prefixRoot;
    lastTimestamp = entry.timestampMs;
    updatesVerified += delta.updates.length;
  }
  const checkpoint = openCheckpoint(proof.checkpoint, anchor.logKey);
  if (checkpoint.size !== size || !equalBytes(rootFromFrontier(frontier), checkpoint.rootHash)) {
    throw new KtError('inconsistent', 'audit: the signed checkpoint is not the log extended by these epochs');
  }
  return {
    checkpoint,
    checkpointNote: proof.checkpoint,
    epochsVerified: proof.epochs.length,
    updatesVerified,
  };
}
