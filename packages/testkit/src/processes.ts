// Servers as `ghostproof serve` runs them, each in a child process of its own, so that a test
// can kill one with SIGKILL mid-load and start it again on the same data; and nats-servers of
// the test's own on free ports. Every process started here is killed by killAll (call it in
// an `after` hook) and, failing that, when the test process exits. And PostgreSQL servers of
// the test's own, for the tests that crash one.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer as createNetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${REPO}apps/cli/bin/ghostproof.mjs`;
const NATS_SERVER = process.env.GHOSTPROOF_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

const execFileAsync = promisify(execFile);
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kills with SIGKILL and waits until the process is gone. */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

export async function killAll(): Promise<void> {
  await Promise.all([...running].map(killProcess));
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** kill -9. */
  kill(): Promise<void>;
}

/** Limits that a load from one address and a few devices would otherwise hit. */
export const unlimitedRates = [
  'sendsPerDevice=100000000/1h',
  'registrationsPerAddress=100000/1h',
  'signInsPerAddress=100000/1h',
  'claimsPerRequester=100000/1h',
  'claimsPerTarget=100000/1h',
];

/**
 * `ghostproof serve --port <port> --data <dataDir> ...args` with the rate limits raised;
 * resolves once it listens.
 */
export async function spawnServer(port: number, dataDir: string, args: readonly string[] = []) {
  const child = track(
    spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--port',
        String(port),
        '--data',
        dataDir,
        '--log-level',
        'warn',
        ...unlimitedRates.flatMap((rate) => ['--rate', rate]),
        ...args,
      ],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
    ),
  );
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in 30 s: ${stderr}`));
    }, 30_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
      const match = /Ghostproof server on (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening: ${stderr}`));
    });
  });
  return { child, url, kill: () => killProcess(child) } satisfies ServerProcess;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

/** A nats-server of the test's own on `port`; resolves once it accepts connections. */
export async function spawnNats(port: number): Promise<ChildProcess> {
  const child = track(spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' }));
  const deadline = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('nats-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** `pg_ctl restart -m immediate`: every backend dies at once, then crash recovery. */
  crashRestart(): Promise<void>;
  stop(): Promise<void>;
}

/** The directory of PostgreSQL's server programs (initdb, pg_ctl) on this machine. */
function postgresBinDir(): string {
  const fromEnv = process.env.GHOSTPROOF_TEST_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return dirname(execFileSync('which', ['pg_ctl'], { encoding: 'utf8' }).trim());
}

/**
 * A PostgreSQL server of the test's own (initdb + pg_ctl, trust auth) on `port`, in a fresh
 * directory; as root, it runs as the `postgres` user, which PostgreSQL requires.
 */
export async function startPostgres(port: number): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'ghostproof-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  // Asynchronously: servers running in this process must go on meanwhile.
  const run = async (program: string, args: readonly string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), [...args]];
    await execFileAsync(file, argv, { timeout: 60_000 });
  };
  await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`;
  const pgCtl = (...args: string[]) =>
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', ...args]);
  await pgCtl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async crashRestart() {
      await pgCtl('restart', '-m', 'immediate');
    },
    async stop() {
      try {
        await pgCtl('stop', '-m', 'immediate');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
