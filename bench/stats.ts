// Small statistics and output helpers shared by the benchmarks. Machines here are shared and
// noisy, so every figure is a median over interleaved rounds.
import { mkdirSync, writeFileSync } from 'node:fs';

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `step` repeatedly for at least `ms` milliseconds and returns completed steps per second. */
export async function ratePerSecond(step: () => Promise<void>, ms: number): Promise<number> {
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    await step();
    count++;
    elapsed = performance.now() - start;
  }
  return (count * 1000) / elapsed;
}

export function writeResults(name: string, results: unknown): string {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  return file.pathname;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
