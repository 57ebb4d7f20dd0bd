// bench:cluster's results: medians over the rounds, written to bench/results/cluster.json
// and printed as the table docs/benchmarks.md shows.
import { cpus, loadavg } from 'node:os';
import type { LatencyResult, ThroughputResult } from '../load.js';
import { median, round, writeResults } from '../stats.js';
import {
  CLIENTS,
  GROUPS_PER_CLIENT,
  LATENCY_MS,
  LATENCY_RATE,
  LATENCY_ROUNDS,
  LATENCY_WARMUP_MS,
  NAMES,
  ROUND_MS,
  ROUNDS,
  WINDOW,
  type Name,
} from './config.js';
import type { RoundCommits } from './probes.js';

/** Delivered messages per second, as the run prints them. */
export const formatRate = (n: number) => Math.round(n).toLocaleString('en-US');

/** What the rounds measured, per configuration. */
export interface ClusterMeasurements {
  readonly rounds: Map<Name, ThroughputResult[]>;
  readonly commits: Map<Name, RoundCommits[]>;
  /** WAL bytes per delivered message, per round (configurations on PostgreSQL only). */
  readonly walPerMessage: Map<Name, number[]>;
  readonly latencies: Map<Name, LatencyResult[]>;
  /** Error responses each configuration's clients received. */
  readonly errors: Record<string, number>;
}

/** The run as a whole: when it started, the commit measured, the load average before. */
export interface RunInfo {
  readonly started: number;
  readonly source: { commit: string; packages_modified: boolean };
  readonly loadBefore: number;
}

export function reportResults(measured: ClusterMeasurements, run: RunInfo): void {
  const { rounds, commits, walPerMessage, latencies, errors } = measured;
  const { started, source, loadBefore } = run;
  const rateOf = (name: Name) => median(rounds.get(name)!.map((r) => r.rate));
  const rawRate = rateOf('raw');
  const cpuOf = (name: Name) => {
    const results = rounds.get(name)!;
    return Object.fromEntries(
      Object.keys(results[0]!.cpuUs).map((meter) => [
        meter,
        Math.round(median(results.map((r) => r.cpuUs[meter]!))),
      ]),
    );
  };
  const latencyOf = (name: Name) => {
    const runs = latencies.get(name)!;
    return {
      p50: median(runs.map((l) => l.p50)),
      p99: median(runs.map((l) => l.p99)),
      delivered: runs.reduce((n, l) => n + l.delivered, 0),
      expected: runs.reduce((n, l) => n + l.expected, 0),
    };
  };
  /** Per round: writes per group commit and its mean duration (ramp-up and drain included). */
  const commitsOf = (name: Name) => {
    const perRound = commits.get(name)!.filter((c) => c.batches > 0);
    if (perRound.length === 0) return undefined;
    return {
      writes_per_commit: Math.round(median(perRound.map((c) => c.writes / c.batches))),
      ms_per_commit: round(median(perRound.map((c) => (c.seconds * 1000) / c.batches)), 1),
      // Time spent inside a group commit, per node, over the round: near 1 means the node
      // was always waiting on one (one batch in flight at a time).
      busy_share_per_node: round(
        median(perRound.map((c) => c.seconds / c.wallSeconds)) / (name === 'postgres_nats_2' ? 2 : 1),
        2,
      ),
    };
  };
  const slowest = Math.min(...NAMES.map(rateOf));
  const ghostproof = (name: Exclude<Name, 'raw'>) => ({
    msgs_per_s: Math.round(rateOf(name)),
    ratio_vs_raw: round(rateOf(name) / rawRate, 3),
    p99_ms: round(latencyOf(name).p99, 2),
    p50_ms: round(latencyOf(name).p50, 2),
    nodes: name === 'postgres_nats_2' ? 2 : 1,
    cpu_us_per_msg: cpuOf(name),
    rounds_msgs_per_s: rounds.get(name)!.map((r) => Math.round(r.rate)),
    rounds_p99_ms: latencies.get(name)!.map((l) => round(l.p99, 2)),
    group_commits: commitsOf(name),
    wal_bytes_per_msg:
      walPerMessage.get(name)!.length > 0 ? Math.round(median(walPerMessage.get(name)!)) : undefined,
    latency_delivered_of_offered: `${latencyOf(name).delivered} of ${latencyOf(name).expected}`,
    errors: errors[name],
  });
  const results = {
    raw_msgs_per_s: Math.round(rawRate),
    sqlite_1: ghostproof('sqlite_1'),
    postgres_1: ghostproof('postgres_1'),
    postgres_nats_2: ghostproof('postgres_nats_2'),
    raw: {
      p50_ms: round(latencyOf('raw').p50, 2),
      p99_ms: round(latencyOf('raw').p99, 2),
      cpu_us_per_msg: cpuOf('raw'),
      rounds_msgs_per_s: rounds.get('raw')!.map((r) => Math.round(r.rate)),
    },
    latency: {
      offered_msgs_per_s: LATENCY_RATE,
      share_of_slowest_throughput: round(LATENCY_RATE / slowest, 2),
      connections: CLIENTS,
      rounds: LATENCY_ROUNDS,
      run_ms: LATENCY_MS,
      warmup_ms: LATENCY_WARMUP_MS,
      statistic: 'median over rounds of each round’s p50 and p99',
    },
    config: {
      clients: CLIENTS,
      window: WINDOW,
      rounds: ROUNDS,
      round_ms: ROUND_MS,
      groups_per_client: GROUPS_PER_CLIENT,
      payload_bytes: 200,
      cross_node_share_postgres_nats_2: 1,
      order: 'interleaved, starting configuration rotated each round',
      cpu_meters:
        'nodes: the server processes; postgres: backends of this configuration’s database only ' +
        '(not the WAL writer or checkpointer); nats: the whole nats-server process, shared',
    },
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      // One-minute load average: other work on the VM shows here.
      load_average_at_start: round(loadBefore, 2),
      load_average_at_end: round(loadavg()[0]!, 2),
      note:
        'every node process, PostgreSQL, NATS and the load generator run on these cores, ' +
        'on a shared VM: figures are per machine, not per node of a deployment',
    },
    date: new Date().toISOString().slice(0, 10),
    source,
    total_s: 0,
  };
  results.total_s = Math.round((performance.now() - started) / 1000);
  const file = writeResults('cluster', results);

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log('');
  console.log(
    `| configuration   | nodes | msg/s (median of ${ROUNDS}) | ratio vs raw | CPU µs/msg nodes / pg / nats | p50 / p99 ms at ${LATENCY_RATE} msg/s |`,
  );
  console.log(
    '| --------------- | ----- | ------------------- | ------------ | ---------------------------- | ------------------------- |',
  );
  for (const name of NAMES) {
    const cpu = cpuOf(name);
    const lat = latencyOf(name);
    console.log(
      `| ${name.padEnd(15)} | ${pad(name === 'postgres_nats_2' ? 2 : 1, 5)} | ${pad(formatRate(rateOf(name)), 19)} | ${pad(
        round(rateOf(name) / rawRate, 3),
        12,
      )} | ${pad(`${cpu.nodes ?? '-'} / ${cpu.postgres ?? '-'} / ${cpu.nats ?? '-'}`, 28)} | ${pad(
        `${round(lat.p50, 2)} / ${round(lat.p99, 2)}`,
        25,
      )} |`,
    );
  }
  for (const name of NAMES) {
    const c = commitsOf(name);
    if (c) {
      console.log(
        `  ${name}: ${c.writes_per_commit} writes per group commit, ${c.ms_per_commit} ms each, ` +
          `${c.busy_share_per_node} of each node's time inside one` +
          (walPerMessage.get(name)!.length > 0
            ? `; ${Math.round(median(walPerMessage.get(name)!))} bytes of WAL per message`
            : '') +
          ' (medians of the rounds)',
      );
    }
  }
  console.log(
    `\nThe offered latency rate is ${round(LATENCY_RATE / slowest, 2)} of the slowest configuration's throughput.` +
      ` All processes share ${cpus().length} cores. ${results.total_s} s in all.`,
  );
  if (LATENCY_RATE > slowest / 2) {
    console.log(
      'warning: the latency rate is above half of the slowest throughput measured; lower BENCH_CLUSTER_LATENCY_RATE',
    );
  }
  console.log(`wrote ${file}`);
}
