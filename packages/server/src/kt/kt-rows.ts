// The two tables of the key transparency log's record read back alike from SQLite and
// PostgreSQL: the same columns, so one mapping to the operator's records serves both stores.
import type { KtEpochRecord, KtUpdateRecord } from '@ghostproof/kt';

export interface UpdateRow {
  label: Buffer;
  version: number;
  nonce: Buffer;
  value: Buffer;
  head: Buffer;
}

export interface EpochRow {
  epoch: number;
  /** A number from SQLite; PostgreSQL returns a BIGINT as a string. */
  timestamp_ms: number | string;
  prefix_root: Buffer;
  update_count: number;
  checkpoint: string;
  delta: Buffer;
}

const u8 = (b: Buffer) => new Uint8Array(b);

export function toUpdate(row: UpdateRow): KtUpdateRecord {
  return {
    label: u8(row.label),
    version: row.version,
    nonce: u8(row.nonce),
    value: u8(row.value),
    head: u8(row.head),
  };
}

export function toEpoch(row: EpochRow): KtEpochRecord {
  return {
    entry: {
      epoch: row.epoch,
      timestampMs: Number(row.timestamp_ms),
      prefixRoot: u8(row.prefix_root),
      updateCount: row.update_count,
    },
    checkpoint: row.checkpoint,
    delta: u8(row.delta),
  };
}
