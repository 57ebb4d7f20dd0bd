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
// Its knobs are in bench/cluster/config.ts, what it reads besides the load in probes.ts, and
// the results it writes and prints in report.ts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  cpuSeconds,
  createAccount,
  inBatches,
  latencyRun,
  OursClient,
  RawClient,
  setUpConversations,
  sleep,
  spawnServer,
  throughputRound,
  type Account,
  type ChildServer,
  type LatencyResult,
  type OnDelivery,
  type ThroughputResult,
} from './load.js';
import { round } from './stats.js';
import {
  CLIENTS,
  GROUPS_PER_CLIENT,
  LATENCY_MS,
  LATENCY_RATE,
  LATENCY_ROUNDS,
  LATENCY_WARMUP_MS,
  NAMES,
  NATS,
  POSTGRES_ADMIN,
  ROUND_MS,
  ROUNDS,
  WINDOW,
  type Configuration,
  type Name,
} from './cluster/config.js';
import {
  adminQuery,
  backendCpu,
  databaseUrl,
  groupCommits,
  natsServerPids,
  sourceState,
  type RoundCommits,
} from './cluster/probes.js';
import { formatRate, reportResults } from './cluster/report.js';

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
    const commits = new Map<Name, RoundCommits[]>(NAMES.map((n) => [n, []]));
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
          `  round ${r + 1} ${c.name.padEnd(15)} ${formatRate(result.rate).padStart(7)} msg/s; CPU µs per message: ${cpu}, load generator ${Math.round(result.generatorUs)}`,
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
    reportResults({ rounds, commits, walPerMessage, latencies, errors }, { started, source, loadBefore });
  } finally {
    await cleanUp();
  }
}

await main();
