// bench:relay — the delivery path of our server beside a minimal raw WebSocket relay, in one
// run, on 127.0.0.1. This process is the load generator, written against packages/api only
// (frames, routes, MLS encoders; keys from @ghostproof/crypto); both servers run as separate
// child processes (bench/relay-servers.ts): the baseline (forward, no storage) and our
// server as `ghostproof serve` runs it, in its default configuration (durable SQLite with
// synchronous=FULL and group commit; only the per-address registration and sign-in limits
// are raised, because all 10,000 simulated people come from one address).
//
// 1. Throughput: 1,000 clients, closed loop with a window of sends in flight per client,
//    200-byte payloads to random recipients (ours: a random one of the client's 1:1
//    conversations, as an MLS PrivateMessage of 200 bytes; sender waits for "accepted",
//    recipient acks). Rounds alternate raw and ours; medians.
// 2. Latency at 10,000 msg/s offered (open loop, 1,000 connections), send to delivery.
// 3. Memory: 10,000 idle authenticated connections, server RSS growth per connection.
// Writes bench/results/relay.json and prints a table. The clients and the measuring loops are
// bench/load.ts, shared with bench:cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { WebSocket } from 'ws';
import {
  createAccount,
  cpuSeconds,
  inBatches,
  latencyRun,
  OursClient,
  RawClient,
  rssBytes,
  setUpConversations,
  sleep,
  spawnServer,
  throughputRound,
  type Account,
  type OnDelivery,
} from './load.js';
import { median, round, writeResults } from './stats.js';

const env = process.env;
const CLIENTS = Number(env.BENCH_CLIENTS ?? 1000);
const IDLE_CONNECTIONS = Number(env.BENCH_IDLE ?? 10_000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(env.BENCH_ROUND_MS ?? 3000);
const WINDOW = Number(env.BENCH_WINDOW ?? 4);
const GROUPS_PER_CLIENT = 3;
const LATENCY_RATE = Number(env.BENCH_LATENCY_RATE ?? 10_000);
const LATENCY_MS = Number(env.BENCH_LATENCY_MS ?? 8000);
const LATENCY_WARMUP_MS = 1000;
const LOW_RATE = Number(env.BENCH_LOW_RATE ?? 2000);

// ---- the run -------------------------------------------------------------------------------

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-bench-relay-'));
  const stopAll = () => {
    for (const c of children) c.kill('SIGTERM');
  };
  process.on('exit', stopAll);
  try {
    const raw = await spawnServer(['--import', 'tsx', 'bench/relay-servers.ts', 'raw']);
    children.push(raw.process);
    const ours = await spawnServer([
      ...(env.BENCH_SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      '--expose-gc',
      '--import',
      'tsx',
      'bench/relay-servers.ts',
      'ghostproof',
      dataDir,
      // The default is full; BENCH_SQLITE_SYNCHRONOUS=normal measures the other setting.
      env.BENCH_SQLITE_SYNCHRONOUS ?? 'full',
    ]);
    children.push(ours.process);
    const base = `http://127.0.0.1:${ours.port}`;
    const devicesPerAccount = Math.ceil(IDLE_CONNECTIONS / CLIENTS);
    console.log(
      `raw relay on ${raw.port}, ghostproof on ${ours.port}; ${CLIENTS} accounts with ${devicesPerAccount} devices each…`,
    );
    let t = performance.now();
    const accounts: Account[] = new Array<Account>(CLIENTS);
    await inBatches([...accounts.keys()], 32, async (i) => {
      accounts[i] = await createAccount(base, i, devicesPerAccount);
    });
    console.log(
      `  registered ${CLIENTS} accounts, linked and signed in ${CLIENTS * devicesPerAccount} devices in ${round((performance.now() - t) / 1000, 1)} s`,
    );

    // 1. Memory of idle connections, on a server that has not carried load yet: RSS after a
    // full garbage collection, before and with IDLE_CONNECTIONS authenticated connections.
    const pid = ours.process.pid!;
    // Full collections (relay-servers.ts runs one on SIGUSR2) until RSS settles within 1 %.
    const gcAndMeasure = async () => {
      let previous = Infinity;
      for (let i = 0; i < 12; i++) {
        ours.process.kill('SIGUSR2');
        await sleep(1000);
        const rss = rssBytes(pid);
        if (Math.abs(rss - previous) < rss / 100) return rss;
        previous = rss;
      }
      return previous;
    };
    const idleTokens = accounts.flatMap((a) => a.tokens).slice(0, IDLE_CONNECTIONS);
    const before = await gcAndMeasure();
    const idle: WebSocket[] = [];
    t = performance.now();
    await inBatches(idleTokens, 200, async (token, i) => {
      const client = await OursClient.connect(ours.port, i, token, () => {});
      idle.push(client.ws);
    });
    console.log(`  opened ${idle.length} idle connections in ${round((performance.now() - t) / 1000, 1)} s`);
    const during = await gcAndMeasure();
    const perConnection = (during - before) / idle.length;
    console.log(
      `  server RSS ${round(before / 2 ** 20, 1)} MiB before, ${round(during / 2 ** 20, 1)} MiB with them: ${Math.round(perConnection)} bytes each`,
    );
    for (const ws of idle) ws.close();
    await sleep(3000);

    // Load clients on both servers, key packages, and 1:1 groups with random peers.
    t = performance.now();
    let rawHandler: OnDelivery = () => {};
    let oursHandler: OnDelivery = () => {};
    const rawClients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        RawClient.connect(raw.port, i, CLIENTS, (s, a) => rawHandler(s, a)),
      ),
    );
    const oursClients: OursClient[] = new Array<OursClient>(CLIENTS);
    await inBatches([...oursClients.keys()], 100, async (i) => {
      oursClients[i] = await OursClient.connect(ours.port, i, accounts[i]!.tokens[0]!, (s, a) =>
        oursHandler(s, a),
      );
    });
    await setUpConversations({
      accounts,
      clients: oursClients,
      bases: oursClients.map(() => base),
      groupsPerClient: GROUPS_PER_CLIENT,
    });
    await sleep(1000);
    console.log(
      `  ${CLIENTS} clients on each server, ${CLIENTS * GROUPS_PER_CLIENT} groups, in ${round((performance.now() - t) / 1000, 1)} s`,
    );

    // 2. Throughput, alternating, after a warm-up of each.
    const setRaw = (h: OnDelivery) => (rawHandler = h);
    const setOurs = (h: OnDelivery) => (oursHandler = h);
    const rawCpuMeter = { server: () => cpuSeconds(raw.process.pid!) };
    const oursCpuMeter = { server: () => cpuSeconds(ours.process.pid!) };
    const throughput = { window: WINDOW, roundMs: ROUND_MS };
    await throughputRound(rawClients, setRaw, rawCpuMeter, throughput);
    await throughputRound(oursClients, setOurs, oursCpuMeter, throughput);
    const rawRates: number[] = [];
    const oursRates: number[] = [];
    const rawCpu: number[] = [];
    const oursCpu: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['raw', 'ours'] as const) : (['ours', 'raw'] as const);
      for (const which of order) {
        const { rate, cpuUs, generatorUs } =
          which === 'raw'
            ? await throughputRound(rawClients, setRaw, rawCpuMeter, throughput)
            : await throughputRound(oursClients, setOurs, oursCpuMeter, throughput);
        const serverUs = cpuUs.server!;
        (which === 'raw' ? rawRates : oursRates).push(rate);
        (which === 'raw' ? rawCpu : oursCpu).push(serverUs);
        console.log(
          `  round ${r + 1} ${which.padEnd(4)} ${Math.round(rate).toLocaleString('en-US').padStart(7)} msg/s;` +
            ` CPU µs per message: server ${Math.round(serverUs)}, load generator ${Math.round(generatorUs)}`,
        );
      }
    }
    const errors = oursClients.reduce((n, c) => n + c.errors, 0);
    if (errors > 0) console.log(`  warning: ${errors} error responses from our server during the run`);

    // 3. Latency at 10k msg/s offered.
    // First at a rate our server sustains here, for context (not in the JSON).
    const latency = { rate: LATENCY_RATE, durationMs: LATENCY_MS, warmupMs: LATENCY_WARMUP_MS };
    const oursLowLatency = await latencyRun(oursClients, setOurs, { ...latency, rate: LOW_RATE });
    const rawLatency = await latencyRun(rawClients, setRaw, latency);
    const oursLatency = await latencyRun(oursClients, setOurs, latency);

    for (const c of [...rawClients, ...oursClients]) c.close();

    const rawRate = median(rawRates);
    const oursRate = median(oursRates);
    const results = {
      raw_msgs_per_s: Math.round(rawRate),
      ours_msgs_per_s: Math.round(oursRate),
      ratio_vs_raw: round(oursRate / rawRate, 3),
      latency_at_10k: {
        offered_msgs_per_s: LATENCY_RATE,
        connections: CLIENTS,
        p50_ms: round(oursLatency.p50, 2),
        p99_ms: round(oursLatency.p99, 2),
      },
      idle_connections: { count: idle.length, rss_bytes_per_connection: Math.round(perConnection) },
    };
    const file = writeResults('relay', results);
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log('');
    console.log('| measure                                   | raw relay | ghostproof | goal        |');
    console.log('| ----------------------------------------- | --------- | ---------- | ----------- |');
    console.log(
      `| msg/s, ${CLIENTS} clients, median of ${ROUNDS} rounds     | ${fmt(rawRate).padStart(9)} | ${fmt(oursRate).padStart(10)} | ratio ≥ 0.75 |`,
    );
    console.log(
      `| ratio vs raw                              |           | ${String(results.ratio_vs_raw).padStart(10)} |             |`,
    );
    console.log(
      `| server CPU µs per message (median)        | ${fmt(median(rawCpu)).padStart(9)} | ${fmt(median(oursCpu)).padStart(10)} |             |`,
    );
    console.log(
      `| p50 ms at 10k msg/s                       | ${round(rawLatency.p50, 2).toString().padStart(9)} | ${round(oursLatency.p50, 2).toString().padStart(10)} |             |`,
    );
    console.log(
      `| p99 ms at 10k msg/s                       | ${round(rawLatency.p99, 2).toString().padStart(9)} | ${round(oursLatency.p99, 2).toString().padStart(10)} | ≤ 5         |`,
    );
    console.log(
      `| delivered in latency run (of expected)    | ${rawLatency.delivered}/${rawLatency.expected} | ${oursLatency.delivered}/${oursLatency.expected} |             |`,
    );
    console.log(
      `| RSS bytes per idle connection (${IDLE_CONNECTIONS})    |           | ${fmt(perConnection).padStart(10)} | ≤ 15,000    |`,
    );
    console.log(
      `| p50 / p99 ms at ${LOW_RATE} msg/s (ours)         |           | ${round(oursLowLatency.p50, 2)} / ${round(oursLowLatency.p99, 2)} |             |`,
    );
    console.log(`\nwrote ${file}`);
  } finally {
    stopAll();
    await sleep(500);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
