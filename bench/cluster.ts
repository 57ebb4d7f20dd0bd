// bench:cluster — the delivery path on the storage and bus configurations a deployment can
// choose, beside the raw WebSocket relay baseline, in one run, on 127.0.0.1, with the load
// generator of bench:relay (bench/load.ts) and its servers (bench/relay-servers.ts):
//   raw              the raw relay (forward, no storage), one process;
//   sqlite_1         one node on SQLite (synchronous=FULL, as `ghostproof serve` runs it);
//   postgres_1       one node on a fresh private PostgreSQL database;
//   postgres_nats_2  two nodes on another fresh database and NATS (a subject prefix of this
//                    run's own), each client connected to node (index mod 2) and every
//                    conversation between clients of different nodes, so that every message
//                    is stored by one node and delivered live through NATS by the other.
// 1. Throughput: closed loop as in bench:relay (1,000 clients, 4 sends in flight each, 200-byte
//    MLS messages into 3 1:1 groups per client, acks batched per turn), but 6 s rounds (see
//    ROUND_MS); a half-length warm-up round of each, then rounds interleaved, rotating the
//    starting configuration; medians and ratios to raw. CPU per delivered message of the
//    nodes, of this database's PostgreSQL backends and of nats-server.
// 2. Latency: open loop at one offered rate that every configuration carries on this machine
//    (BENCH_CLUSTER_LATENCY_RATE, chosen from measured throughput: see docs/benchmarks.md),
//    send to delivery; interleaved rounds, median of the rounds' p50 and p99.
// Every node process, PostgreSQL, NATS and this load generator share the machine's cores
// (two here): the figures are per machine, not per node of a real deployment.
// The databases are created with random names and dropped at the end; every child process is
// stopped on exit, on failure and on SIGINT/SIGTERM. Writes bench/results/cluster.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  cpuSeconds,
  createAccount,
  inBatches,
  latencyRun,
  OursClient,
  pidsMatching,
  RawClient,
  setUpConversations,
  sleep,
  spawnServer,
  throughputRound,
  type Account,
  type ChildServer,
  type LatencyResult,
  type LoadClient,
  type OnDelivery,
  type ThroughputResult,
} from './load.js';
import { median, round, writeResults } from './stats.js';

const env = process.env;
const CLIENTS = Number(env.BENCH_CLIENTS ?? 1000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 5);
// Longer than bench:relay's 3 s: at saturation a PostgreSQL node commits everything queued
// while its previous batch ran as one batch, so deliveries come in bursts of up to
// CLIENTS × WINDOW about once a second, and a 3 s window counts two or three of them.
const ROUND_MS = Number(env.BENCH_ROUND_MS ?? 6000);
const WINDOW = Number(env.BENCH_WINDOW ?? 4);
const GROUPS_PER_CLIENT = 3;
const LATENCY_RATE = Number(env.BENCH_CLUSTER_LATENCY_RATE ?? 1000);
const LATENCY_ROUNDS = Number(env.BENCH_CLUSTER_LATENCY_ROUNDS ?? 3);
const LATENCY_MS = Number(env.BENCH_CLUSTER_LATENCY_MS ?? 5000);
const LATENCY_WARMUP_MS = 1000;
const POSTGRES_ADMIN = env.BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS = env.BENCH_NATS ?? 'nats://127.0.0.1:4222';

const NAMES = ['raw', 'sqlite_1', 'postgres_1', 'postgres_nats_2'] as const;
type Name = (typeof NAMES)[number];

interface Configuration {
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

interface GroupCommits {
  readonly batches: number;
  readonly writes: number;
  readonly seconds: number;
}

/** Group commits so far, summed over the nodes (the store's histograms in /metrics). */
async function groupCommits(urls: readonly string[]): Promise<GroupCommits> {
  let batches = 0;
  let writes = 0;
  let seconds = 0;
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    batches += value('ghostproof_store_flush_seconds_count');
    seconds += value('ghostproof_store_flush_seconds_sum');
    writes += value('ghostproof_store_batch_writes_sum');
  }
  return { batches, writes, seconds };
}

// ---- PostgreSQL databases of this run -------------------------------------------------------

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_ADMIN);
  url.pathname = `/${name}`;
  return url.toString();
}

/** CPU seconds of the PostgreSQL backends serving `database` (their titles name it). */
function backendCpu(database: string): () => number {
  return () => pidsMatching(` ${database} `).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** The commit measured, and whether the server's packages differed from it in the work tree. */
function sourceState(): { commit: string; packages_modified: boolean } {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', 'HEAD'),
      packages_modified: git('status', '--porcelain', 'packages').length > 0,
    };
  } catch {
    return { commit: 'unknown', packages_modified: true };
  }
}

/**
 * The nats-server serving `url`, if it runs here: the one whose command line names its port
 * (or names none, for the default 4222). Fault tests start nats-servers of their own.
 */
function natsServerPids(url: string): number[] {
  const { hostname, port: given } = new URL(url);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') return [];
  const port = given === '' ? '4222' : given;
  return pidsMatching('nats-server').filter((pid) => {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return false;
    }
    if (!args[0]?.endsWith('nats-server')) return false;
    const at = args.findIndex((a) => a === '-p' || a === '--port');
    return at === -1 ? port === '4222' : args[at + 1] === port;
  });
}

// ---- the run ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const runId = randomBytes(5).toString('hex');
  const databases = [`ghostproof_bench_${runId}_1`, `ghostproof_bench_${runId}_2`];
  const created: string[] = [];
  const children: ChildServer[] = [];
  const dataDirs: string[] = [];
  const running = (c: ChildServer) => c.process.exitCode === null && c.process.signalCode === null;
  const stopChildren = () => {
    for (const c of children) if (running(c)) c.process.kill('SIGTERM');
  };
  /** Resolves when the child has exited; SIGKILL after 10 s. */
  const exited = (c: ChildServer) =>
    new Promise<void>((resolve) => {
      if (!running(c)) return resolve();
      const timer = setTimeout(() => c.process.kill('SIGKILL'), 10_000);
      c.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  let walClient: pg.Client | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaned ??= (async () => {
      const stopping = children.map(exited);
      stopChildren();
      await Promise.all(stopping);
      await walClient?.end().catch(() => {});
      for (const name of created) {
        await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error: unknown) =>
          console.error(`could not drop database ${name}:`, error),
        );
      }
      for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    })());
  process.on('exit', stopChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the servers and dropping this run's databases`);
      void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }

  try {
    const started = performance.now();
    const source = sourceState();
    const loadBefore = loadavg()[0]!;
    for (const name of databases) {
      await adminQuery(`CREATE DATABASE ${name}`);
      created.push(name);
    }
    const spawn = async (args: string[]) => {
      const child = await spawnServer(['--import', 'tsx', 'bench/relay-servers.ts', ...args]);
      children.push(child);
      return child;
    };
    const dataDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'ghostproof-bench-cluster-'));
      dataDirs.push(dir);
      return dir;
    };
    const subjectPrefix = `ghostproof-bench-${runId}`;
    const raw = await spawn(['raw']);
    const sqlite = await spawn(['ghostproof', dataDir()]);
    const postgres = await spawn(['ghostproof', dataDir(), '--store', databaseUrl(databases[0]!)]);
    // One after the other: the first migrates the schema. One deployment, one pair of key
    // transparency keys.
    const ktKeyFile = join(dataDir(), 'kt-keys.json');
    const pair: ChildServer[] = [];
    for (let n = 0; n < 2; n++) {
      pair.push(
        await spawn([
          'ghostproof',
          dataDir(),
          '--store',
          databaseUrl(databases[1]!),
          '--nats',
          NATS,
          '--subject-prefix',
          subjectPrefix,
          '--kt-key-file',
          ktKeyFile,
        ]),
      );
    }
    console.log(
      `raw relay on ${raw.port}; sqlite_1 on ${sqlite.port}; postgres_1 on ${postgres.port} (${databases[0]}); ` +
        `postgres_nats_2 on ${pair.map((p) => p.port).join(' and ')} (${databases[1]}, NATS subjects ${subjectPrefix}.*)`,
    );
    console.log(
      `all of them, PostgreSQL, NATS and this load generator share ${cpus().length} cores: ` +
        'figures are per machine, not per node',
    );

    const natsPids = natsServerPids(NATS);
    const natsCpu = () => natsPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);

    /** Accounts, connections and conversations of one Ghostproof configuration. */
    const setUpGhostproof = async (
      name: Name,
      nodes: readonly ChildServer[],
      cpuMeters: Record<string, () => number>,
    ): Promise<Configuration> => {
      const t = performance.now();
      const nodeOf = (i: number) => nodes[i % nodes.length]!;
      const bases = Array.from({ length: CLIENTS }, (_, i) => `http://127.0.0.1:${nodeOf(i).port}`);
      const accounts = new Array<Account>(CLIENTS);
      await inBatches([...accounts.keys()], 32, async (i) => {
        accounts[i] = await createAccount(bases[i]!, i, 1);
      });
      let handler: OnDelivery = () => {};
      let delivered = 0;
      const clients = new Array<OursClient>(CLIENTS);
      await inBatches([...clients.keys()], 100, async (i) => {
        clients[i] = await OursClient.connect(nodeOf(i).port, i, accounts[i]!.tokens[0]!, (s, a) => {
          delivered++;
          handler(s, a);
        });
      });
      // With several nodes, each client's peers are on another node than its own.
      const n = nodes.length;
      const peerOf =
        n === 1
          ? undefined
          : (i: number) => {
              const offset = 1 + Math.floor(Math.random() * (n - 1));
              const node = ((i % n) + offset) % n;
              const slots = Math.floor((CLIENTS - 1 - node) / n) + 1;
              return node + n * Math.floor(Math.random() * slots);
            };
      await setUpConversations({
        accounts,
        clients,
        bases,
        groupsPerClient: GROUPS_PER_CLIENT,
        ...(peerOf === undefined ? {} : { peerOf }),
      });
      console.log(
        `  ${name}: ${CLIENTS} accounts, clients and key packages, ${CLIENTS * GROUPS_PER_CLIENT} groups in ` +
          `${round((performance.now() - t) / 1000, 1)} s`,
      );
      return {
        name,
        clients,
        setHandler: (h) => (handler = h),
        cpuMeters,
        errors: () => clients.reduce((sum, c) => sum + c.errors, 0),
        metricsUrls: nodes.map((node) => `http://127.0.0.1:${node.port}/metrics`),
        delivered: () => delivered,
        onPostgres: name !== 'sqlite_1',
      };
    };

    let rawHandler: OnDelivery = () => {};
    const rawClients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        RawClient.connect(raw.port, i, CLIENTS, (s, a) => rawHandler(s, a)),
      ),
    );
    const nodeCpu = (nodes: readonly ChildServer[]) => () =>
      nodes.reduce((sum, node) => sum + cpuSeconds(node.process.pid!), 0);
    const natsMeter: Record<string, () => number> = natsPids.length > 0 ? { nats: natsCpu } : {};
    const configurations: Configuration[] = [
      {
        name: 'raw',
        clients: rawClients,
        setHandler: (h) => (rawHandler = h),
        cpuMeters: { nodes: nodeCpu([raw]) },
        errors: () => 0,
        metricsUrls: [],
        delivered: () => 0,
        onPostgres: false,
      },
      await setUpGhostproof('sqlite_1', [sqlite], { nodes: nodeCpu([sqlite]) }),
      await setUpGhostproof('postgres_1', [postgres], {
        nodes: nodeCpu([postgres]),
        postgres: backendCpu(databases[0]!),
      }),
      await setUpGhostproof('postgres_nats_2', pair, {
        nodes: nodeCpu(pair),
        postgres: backendCpu(databases[1]!),
        ...natsMeter,
      }),
    ];
    await sleep(1000);

    // 1. Throughput: a warm-up round of each, then rounds in rotating order.
    const throughput = { window: WINDOW, roundMs: ROUND_MS };
    const rounds = new Map<Name, ThroughputResult[]>(NAMES.map((n) => [n, []]));
    const commits = new Map<Name, (GroupCommits & { wallSeconds: number })[]>(NAMES.map((n) => [n, []]));
    // WAL the PostgreSQL server wrote per delivered message over whole rounds (ramp-up and
    // drain included). The server is shared: other databases' writes in that time count too.
    const walPerMessage = new Map<Name, number[]>(NAMES.map((n) => [n, []]));
    const walPosition = async () => {
      if (!walClient) {
        walClient = new pg.Client({ connectionString: POSTGRES_ADMIN });
        await walClient.connect();
      }
      const { rows } = await walClient.query<{ bytes: string }>(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS bytes",
      );
      return Number(rows[0]!.bytes);
    };
    for (const c of configurations) {
      await throughputRound(c.clients, c.setHandler, c.cpuMeters, { ...throughput, roundMs: ROUND_MS / 2 });
    }
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < configurations.length; k++) {
        const c = configurations[(r + k) % configurations.length]!;
        const before = await groupCommits(c.metricsUrls);
        const [walBefore, deliveredBefore] = [c.onPostgres ? await walPosition() : 0, c.delivered()];
        const wallStart = performance.now();
        const result = await throughputRound(c.clients, c.setHandler, c.cpuMeters, throughput);
        const after = await groupCommits(c.metricsUrls);
        if (c.onPostgres) {
          const wal = (await walPosition()) - walBefore;
          walPerMessage.get(c.name)!.push(wal / (c.delivered() - deliveredBefore));
        }
        rounds.get(c.name)!.push(result);
        commits.get(c.name)!.push({
          batches: after.batches - before.batches,
          writes: after.writes - before.writes,
          seconds: after.seconds - before.seconds,
          wallSeconds: (performance.now() - wallStart) / 1000,
        });
        const cpu = Object.entries(result.cpuUs)
          .map(([meter, us]) => `${meter} ${Math.round(us)}`)
          .join(', ');
        console.log(
          `  round ${r + 1} ${c.name.padEnd(15)} ${fmt(result.rate).padStart(7)} msg/s; CPU µs per message: ${cpu}, load generator ${Math.round(result.generatorUs)}`,
        );
      }
    }

    // 2. Latency at one offered rate, in rotating order.
    const latencyOptions = { rate: LATENCY_RATE, durationMs: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS };
    const latencies = new Map<Name, LatencyResult[]>(NAMES.map((n) => [n, []]));
    for (let r = 0; r < LATENCY_ROUNDS; r++) {
      for (let k = 0; k < configurations.length; k++) {
        const c = configurations[(r + k) % configurations.length]!;
        const result = await latencyRun(c.clients, c.setHandler, latencyOptions);
        latencies.get(c.name)!.push(result);
        console.log(
          `  latency ${r + 1} ${c.name.padEnd(15)} p50 ${round(result.p50, 2)} ms, p99 ${round(result.p99, 2)} ms ` +
            `(${result.delivered} of ${result.expected} delivered)`,
        );
      }
    }

    const errors = Object.fromEntries(configurations.map((c) => [c.name, c.errors()]));
    for (const [name, count] of Object.entries(errors)) {
      if (count > 0) console.log(`  warning: ${count} error responses from ${name} during the run`);
    }
    for (const c of configurations) for (const client of c.clients) client.close();

    // ---- results ----------------------------------------------------------------------------
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
        `| ${name.padEnd(15)} | ${pad(name === 'postgres_nats_2' ? 2 : 1, 5)} | ${pad(fmt(rateOf(name)), 19)} | ${pad(
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
  } finally {
    await cleanUp();
  }
}

await main();
