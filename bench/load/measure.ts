// The two measurements: throughputRound, a closed loop (a window of messages in flight per
// client; delivered msg/s and CPU per delivered message), and latencyRun, an open loop at a
// fixed offered rate (send-to-delivery latency).
import type { LoadClient, OnDelivery } from './clients.js';
import { sleep } from './processes.js';

export interface ThroughputOptions {
  /** Messages each client keeps in flight. */
  readonly window: number;
  /** The measured window; a quarter of it again goes before, as ramp-up. */
  readonly roundMs: number;
}

export interface ThroughputResult {
  /** Delivered messages per second. */
  readonly rate: number;
  /** CPU microseconds per delivered message, for each meter the caller passed. */
  readonly cpuUs: Record<string, number>;
  /** CPU microseconds per delivered message of this process. */
  readonly generatorUs: number;
}

/**
 * Closed loop: every client keeps `window` messages in flight; each delivery makes its
 * sender send again. `cpuMeters` read the CPU seconds of the processes to account for.
 */
export async function throughputRound(
  clients: readonly LoadClient[],
  setHandler: (h: OnDelivery) => void,
  cpuMeters: Record<string, () => number>,
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  let active = true;
  let delivered = 0;
  let outstanding = 0;
  setHandler((sender) => {
    outstanding--;
    if (!active) return;
    delivered++;
    outstanding++;
    clients[sender]!.send(0);
  });
  for (const c of clients) {
    for (let i = 0; i < options.window; i++) {
      outstanding++;
      c.send(0);
    }
  }
  // Measure after the first quarter, once every client is sending.
  await sleep(options.roundMs / 4);
  const readCpu = () => Object.fromEntries(Object.entries(cpuMeters).map(([name, read]) => [name, read()]));
  const started = performance.now();
  const [startCount, cpuBefore, ownCpu] = [delivered, readCpu(), process.cpuUsage()];
  await sleep(options.roundMs);
  const count = delivered - startCount;
  const elapsed = performance.now() - started;
  const cpuAfter = readCpu();
  const own = process.cpuUsage(ownCpu);
  active = false;
  const drainBy = Date.now() + 5000;
  while (outstanding > 0 && Date.now() < drainBy) await sleep(20);
  await sleep(200);
  const cpuUs = Object.fromEntries(
    Object.keys(cpuMeters).map((name) => [name, ((cpuAfter[name]! - cpuBefore[name]!) * 1e6) / count]),
  );
  return { rate: (count * 1000) / elapsed, cpuUs, generatorUs: (own.user + own.system) / count };
}

export interface LatencyOptions {
  /** Offered messages per second, across all clients in turn. */
  readonly rate: number;
  /** Length of the run, warm-up included. */
  readonly durationMs: number;
  /** Messages sent in the first warmupMs are delivered but not sampled. */
  readonly warmupMs: number;
}

export interface LatencyResult {
  readonly p50: number;
  readonly p99: number;
  readonly delivered: number;
  readonly expected: number;
}

/** Open loop at `rate` msg/s across all clients; send-to-delivery latency. */
export async function latencyRun(
  clients: readonly LoadClient[],
  setHandler: (h: OnDelivery) => void,
  options: LatencyOptions,
): Promise<LatencyResult> {
  const { rate, durationMs, warmupMs } = options;
  const samples: number[] = [];
  const started = performance.now();
  let lastDelivery = performance.now();
  setHandler((_sender, at) => {
    lastDelivery = performance.now();
    if (at - started >= warmupMs) samples.push(performance.now() - at);
  });
  let sent = 0;
  /** Messages sent after the warm-up: each must arrive once, as one sample. */
  let sampled = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const elapsed = now - started;
      if (elapsed >= durationMs) {
        resolve();
        return;
      }
      const due = Math.floor((elapsed * rate) / 1000);
      while (sent < due) {
        const at = performance.now();
        if (at - started >= warmupMs) sampled++;
        clients[sent % clients.length]!.send(at);
        sent++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  // Let whatever is still queued arrive (it counts), so the next run starts from quiet.
  const drainBy = performance.now() + 60_000;
  while (performance.now() - lastDelivery < 1000 && performance.now() < drainBy) await sleep(100);
  samples.sort((a, b) => a - b);
  const pick = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return {
    p50: pick(0.5),
    p99: pick(0.99),
    delivered: samples.length,
    expected: sampled,
  };
}
