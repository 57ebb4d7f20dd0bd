// The benchmark's processes: servers spawned as children, and what /proc says about them
// (CPU time, resident memory), plus the small timing helpers the loops share.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const root = new URL('../../', import.meta.url).pathname;

export interface ChildServer {
  readonly process: ChildProcess;
  readonly port: number;
}

/**
 * Spawns `node args` with the open-files limit raised to the hard limit, and resolves with
 * the port it prints as {"port": n}. The child's stdin is a pipe that this process holds:
 * relay-servers.ts stops when it closes, so no server outlives the benchmark, even one
 * killed with SIGKILL.
 */
export async function spawnServer(args: string[]): Promise<ChildServer> {
  const child = spawn(
    'bash',
    ['-c', 'ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', process.execPath, ...args],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port !== undefined) resolve(port);
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
  return { process: child, port };
}

/** CPU time (user + system) a process has used, in seconds; 0 once it has gone. */
export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Processes whose command line contains `text` (for example a PostgreSQL backend's title). */
export function pidsMatching(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!kb) throw new Error('no VmRSS');
  return Number(kb[1]) * 1024;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function inBatches<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}
