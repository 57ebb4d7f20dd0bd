// The `ghostproof` CLI as people run it: a real child process (bin/ghostproof.mjs under
// tsx) per command, each person with their own profile directory, against a real server
// started in this process by the test kit (a random port, the per-address limits raised: every
// test person connects from 127.0.0.1). Each child costs about a second of startup: tests keep
// their number bounded.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GhostproofServer } from '@ghostproof/server';
import { fastKeyTransparency, startTestServer } from '@ghostproof/testkit';

export const bin = fileURLToPath(new URL('../../bin/ghostproof.mjs', import.meta.url));

export interface World {
  readonly server: GhostproofServer;
  readonly url: string;
  readonly dataDir: string;
  readonly root: string;
  profile(name: string): string;
  close(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const root = mkdtempSync(join(tmpdir(), 'ghostproof-cli-test-'));
  const test = await startTestServer({ dataDir: join(root, 'server'), kt: fastKeyTransparency });
  return {
    server: test.server,
    url: test.url,
    dataDir: test.dataDir,
    root,
    profile: (name) => join(root, `profile-${name}`),
    async close() {
      await test.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ghostproof --server URL --profile DIR args...` to completion. */
export function ghostproof(
  world: World,
  person: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, '--server', world.url, '--profile', world.profile(person), ...args],
      { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number' && !error.signal) {
          reject(new Error(`could not run ghostproof: ${error.message}`));
          return;
        }
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
          signal: error?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** Like ghostproof(), and fails with its stderr unless it exits 0. */
export async function ok(world: World, person: string, args: readonly string[]): Promise<string> {
  const run = await ghostproof(world, person, args);
  if (run.code !== 0) {
    throw new Error(`ghostproof ${args.join(' ')} (${person}) exited ${run.code}: ${run.stderr.trim()}`);
  }
  return run.stdout;
}

/** Runs with --json and parses one object per line. */
export async function json<T = Record<string, unknown>>(
  world: World,
  person: string,
  args: readonly string[],
): Promise<T[]> {
  const stdout = await ok(world, person, ['--json', ...args]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

export interface ReceivedMessage {
  conversation: string;
  sender: string;
  sent_at: string;
  type: string;
  text: string;
  id: string;
  request?: boolean;
  file?: string | null;
  sha256?: string;
}

export function receive(world: World, person: string, extra: readonly string[] = []) {
  return json<ReceivedMessage>(world, person, ['receive', ...extra]);
}

/** A long-running command (receive --wait, chat) whose output is collected as it comes. */
export function startGhostproof(
  world: World,
  person: string,
  args: readonly string[],
): { child: ChildProcess; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [bin, '--server', world.url, '--profile', world.profile(person), ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, exited };
}

export { eventually } from '@ghostproof/testkit';

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** The files under `dir` that contain `needle`, as raw bytes. */
export function filesContaining(dir: string, needle: Buffer | string): string[] {
  const bytes = typeof needle === 'string' ? Buffer.from(needle) : needle;
  return filesUnder(dir).filter((f) => readFileSync(f).includes(bytes));
}
