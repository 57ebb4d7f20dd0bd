// bench:cluster's knobs (environment variables, see docs/benchmarks.md) and the shape of one
// configuration under test.
import type { LoadClient, OnDelivery } from '../load.js';

const env = process.env;
export const CLIENTS = Number(env.BENCH_CLIENTS ?? 1000);
export const ROUNDS = Number(env.BENCH_ROUNDS ?? 5);
// Longer than bench:relay's 3 s: at saturation a PostgreSQL node commits everything queued
// while its previous batch ran as one batch, so deliveries come in bursts of up to
// CLIENTS × WINDOW about once a second, and a 3 s window counts two or three of them.
export const ROUND_MS = Number(env.BENCH_ROUND_MS ?? 6000);
export const WINDOW = Number(env.BENCH_WINDOW ?? 4);
export const GROUPS_PER_CLIENT = 3;
export const LATENCY_RATE = Number(env.BENCH_CLUSTER_LATENCY_RATE ?? 1000);
export const LATENCY_ROUNDS = Number(env.BENCH_CLUSTER_LATENCY_ROUNDS ?? 3);
export const LATENCY_MS = Number(env.BENCH_CLUSTER_LATENCY_MS ?? 5000);
export const LATENCY_WARMUP_MS = 1000;
export const POSTGRES_ADMIN = env.BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS = env.BENCH_NATS ?? 'nats://127.0.0.1:4222';

export const NAMES = ['raw', 'sqlite_1', 'postgres_1', 'postgres_nats_2'] as const;
export type Name = (typeof NAMES)[number];

export interface Configuration {
  readonly name: Name;
  readonly clients: readonly LoadClient[];
  readonly setHandler: (h: OnDelivery) => void;
  readonly cpuMeters: Record<string, () => number>;
  readonly errors: () => number;
  /** The nodes' /metrics, to read their group commits from (none for the raw relay). */
  readonly metricsUrls: readonly string[];
  /** Messages delivered to this configuration's clients so far. */
  readonly delivered: () => number;
  readonly onPostgres: boolean;
}
