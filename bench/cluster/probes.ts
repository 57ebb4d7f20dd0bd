// What bench:cluster reads around the load: the nodes' group commits from /metrics, the
// PostgreSQL databases of this run and their backends' CPU, the nats-server's processes, and
// the commit measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { cpuSeconds, pidsMatching } from '../load.js';
import { POSTGRES_ADMIN } from './config.js';

export interface GroupCommits {
  readonly batches: number;
  readonly writes: number;
  readonly seconds: number;
}

/** One round's group commits, and how long the round took in all. */
export type RoundCommits = GroupCommits & { wallSeconds: number };

/** Group commits so far, summed over the nodes (the store's histograms in /metrics). */
export async function groupCommits(urls: readonly string[]): Promise<GroupCommits> {
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

export async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_ADMIN);
  url.pathname = `/${name}`;
  return url.toString();
}

/** CPU seconds of the PostgreSQL backends serving `database` (their titles name it). */
export function backendCpu(database: string): () => number {
  return () => pidsMatching(` ${database} `).reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** The commit measured, and whether the server's packages differed from it in the work tree. */
export function sourceState(): { commit: string; packages_modified: boolean } {
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
export function natsServerPids(url: string): number[] {
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
