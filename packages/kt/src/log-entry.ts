// One log entry per epoch: the leaf data of the RFC 9162 log tree. It binds the epoch number
// (= the leaf index), the time the epoch was published, the prefix tree's root and the number
// of updates applied in the epoch.
import type { ByteReader } from './bytes.js';
import { ByteWriter, checkBytes, checkInteger } from './bytes.js';
import { TAG_LOG_ENTRY } from './hashing.js';
import { hashLogLeaf } from './log-tree.js';

export interface LogEntry {
  /** The epoch number, which is also the entry's index in the log. */
  readonly epoch: number;
  /** When the operator published the epoch, in milliseconds since 1970; never decreases. */
  readonly timestampMs: number;
  /** The root hash of the prefix tree after the epoch's updates. */
  readonly prefixRoot: Uint8Array;
  /** How many account updates the epoch applied. */
  readonly updateCount: number;
}

/** The fields of an entry, without the constant tag: what proofs carry. */
export const LOG_ENTRY_FIELDS_LENGTH = 8 + 8 + 32 + 4;

export function writeLogEntryFields(w: ByteWriter, entry: LogEntry): ByteWriter {
  return w.u64(entry.epoch).u64(entry.timestampMs).bytes(entry.prefixRoot).u32(entry.updateCount);
}

export function readLogEntryFields(r: ByteReader): LogEntry {
  return {
    epoch: r.u64('log entry epoch'),
    timestampMs: r.u64('log entry timestamp'),
    prefixRoot: r.bytes('log entry prefix root', 32),
    updateCount: r.u32('log entry update count'),
  };
}

/** The leaf data: tag ‖ u64 epoch ‖ u64 timestamp ‖ prefix root ‖ u32 update count. */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  checkInteger('log entry epoch', entry.epoch, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('log entry timestamp', entry.timestampMs, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('log entry update count', entry.updateCount, 0, 0xffffffff);
  checkBytes('log entry prefix root', entry.prefixRoot, 32);
  return writeLogEntryFields(new ByteWriter().bytes(TAG_LOG_ENTRY), entry).finish();
}

export function logEntryLeafHash(entry: LogEntry): Uint8Array {
  return hashLogLeaf(encodeLogEntry(entry));
}
