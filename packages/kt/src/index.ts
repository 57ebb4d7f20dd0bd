/**
 * Key transparency for Ghostproof: an append-only log of account updates that the server
 * operates and every client checks. Account names become labels through a VRF (RFC 9381) so
 * the log cannot be enumerated; each epoch's prefix tree maps labels to the latest version
 * and a hash chain over every version's commitment; an RFC 9162 Merkle log of epochs is
 * published as C2SP signed-note checkpoints. The same verifier serves clients (lookup and
 * monitoring proofs) and auditors (append-only proofs). Pure: runs in Node and browsers.
 */
export { KtError, type KtErrorCode } from './errors.js';
export {
  VRF_OUTPUT_LENGTH,
  VRF_PROOF_LENGTH,
  VRF_PUBLIC_KEY_LENGTH,
  VRF_SECRET_KEY_LENGTH,
  vrfEncodeToCurve,
  vrfProofToHash,
  vrfProve,
  vrfPublicKey,
  vrfValidatePublicKey,
  vrfVerify,
} from './vrf.js';
export {
  EMPTY_LOG_ROOT,
  LogTree,
  appendToFrontier,
  hashLogChildren,
  hashLogLeaf,
  rootFromFrontier,
  verifyConsistency,
  verifyInclusion,
} from './log-tree.js';
export {
  MAX_NOTE_BYTES,
  formatCheckpoint,
  formatNoteVerifierKey,
  isValidKeyName,
  keyFingerprint,
  noteKeyId,
  noteVerifierKey,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseNoteVerifierKey,
  signCheckpoint,
  signNote,
  type Checkpoint,
  type NoteVerifierKey,
} from './checkpoint.js';
export {
  EMPTY_PREFIX_HASH,
  LABEL_LENGTH,
  ZERO_HEAD,
  commitValue,
  hashHistory,
  hashPrefixLeaf,
  hashPrefixNode,
} from './hashing.js';
export {
  EMPTY_NODE,
  PrefixTree,
  decodePartialTree,
  encodePartialTree,
  findTerminal,
  insertLeaf,
  lookupLeaf,
  prefixLeaf,
  prefixNodeHash,
  prunePrefixTree,
  type PrefixNode,
  type PrefixLeaf,
} from './prefix-tree.js';
export { encodeLogEntry, logEntryLeafHash, type LogEntry } from './log-entry.js';
export {
  DEFAULT_PROOF_LIMITS,
  decodeAuditProof,
  decodeConsistencyProof,
  decodeEpochDelta,
  decodeLookupProof,
  decodeMonitorProof,
  encodeAuditProof,
  encodeConsistencyProof,
  encodeEpochDelta,
  encodeLookupProof,
  encodeMonitorProof,
  type AuditProof,
  type AuditedUpdate,
  type ConsistencyProof,
  type EpochDelta,
  type LookupProof,
  type MonitorProof,
  type ProofLimits,
  type VersionOpening,
} from './proofs.js';
export { MemoryKtStore, type KtEpochRecord, type KtStore, type KtUpdateRecord } from './store.js';
export {
  accountVrfInput,
  labelFromVrfOutput,
  verifyAccountLabel,
  verifyAuditProof,
  verifyConsistencyProof,
  verifyLookupPaths,
  verifyLookupProof,
  verifyMonitorProof,
  type AuditResult,
  type KtTrustAnchor,
  type MonitorState,
  type VerifiedEpoch,
  type VerifiedLookup,
  type VerifiedMonitor,
  type VerifyOptions,
} from './verifier.js';
export { KtLogOperator, type KtLogOperatorOptions, type KtPublicKeys } from './log-operator.js';
