// A real Ghostproof server for a test, in one call: on a random port of 127.0.0.1, its data in
// a temporary directory removed on stop, every log line captured (so that a test can check
// that logs carry no user data), and the rate limits raised (every test person connects from
// 127.0.0.1). `store: 'postgres'` gives it a database of its own, `bus: 'nats'` a NATS subject
// prefix of its own; `restart` stops it and starts it again on the same data and port.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  createRootLogger,
  createServer,
  type GhostproofServer,
  type ServerOptions,
} from '@ghostproof/server';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export const NATS_URL = process.env.GHOSTPROOF_TEST_NATS ?? 'nats://127.0.0.1:4222';

/** Limits generous enough for tests that do not test limits. */
export const relaxedRates = {
  registrationsPerAddress: { limit: 10_000, windowMs: 60_000 },
  signInsPerAddress: { limit: 10_000, windowMs: 60_000 },
} as const;

/** Short key transparency epochs: a new account becomes visible to lookups at the next one. */
export const fastKeyTransparency = { epochIntervalMs: 50 } as const;

export type LogLevel = 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface TestServerOptions extends Partial<Omit<ServerOptions, 'store' | 'bus' | 'log' | 'dataDir'>> {
  /**
   * 'sqlite' (default: in the data directory), 'postgres' (a new database on the local
   * PostgreSQL, dropped on stop), or what ServerOptions.store takes (a Store, a postgres:// URL).
   */
  // The keywords are listed although `string` covers them: they are what callers should read.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  readonly store?: 'sqlite' | 'postgres' | ServerOptions['store'];
  /** 'memory' (default: in process), 'nats' (the local NATS, a subject prefix of its own), or a bus. */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  readonly bus?: 'memory' | 'nats' | ServerOptions['bus'];
  /** A data directory the caller owns (kept on stop); default a new temporary one, removed on stop. */
  readonly dataDir?: string;
  /** Level of the captured log (default debug: a test of the logs sees everything). */
  readonly logLevel?: LogLevel;
}

export interface TestServer {
  server: GhostproofServer;
  url: string;
  readonly dataDir: string;
  /** Every log line the server wrote, across restarts. */
  readonly logs: string[];
  /** The options the server was started with (after the test kit's choices). */
  readonly options: Partial<ServerOptions>;
  /**
   * Stops the server and starts a new one on the same data (and port); `whileStopped` runs in
   * between (an operator changing files while the server is down).
   */
  restart(whileStopped?: () => void | Promise<void>): Promise<void>;
  /** Stops the server; removes what the test kit made for it (data directory, database). */
  stop(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { store = 'sqlite', bus = 'memory', dataDir: ownDir, logLevel = 'debug', ...rest } = options;
  const dataDir = ownDir ?? mkdtempSync(join(tmpdir(), 'ghostproof-test-'));
  let database: TestDatabase | undefined;
  if (store === 'postgres') database = await createTestDatabase();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  const serverOptions: Partial<ServerOptions> = {
    host: '127.0.0.1',
    rates: relaxedRates,
    metrics: { defaultMetrics: false },
    ...rest,
    ...(store === 'postgres' ? { store: database!.url } : store === 'sqlite' ? {} : { store }),
    ...(bus === 'nats'
      ? { bus: NATS_URL, busSubjectPrefix: `ghostproof-test-${randomBytes(6).toString('hex')}` }
      : bus === 'memory'
        ? {}
        : { bus }),
  };
  const make = async (port: number) => {
    const server = await createServer({
      ...serverOptions,
      dataDir,
      port,
      log: createRootLogger({ level: logLevel, destination }),
    });
    const { url } = await server.listen();
    return { server, url };
  };
  const first = await make(options.port ?? 0);
  const handle: TestServer = {
    server: first.server,
    url: first.url,
    dataDir,
    logs,
    options: serverOptions,
    async restart(whileStopped) {
      await handle.server.close();
      await whileStopped?.();
      const next = await make(Number(new URL(handle.url).port));
      handle.server = next.server;
      handle.url = next.url;
    },
    async stop() {
      await handle.server.close();
      if (!ownDir) rmSync(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
  return handle;
}
