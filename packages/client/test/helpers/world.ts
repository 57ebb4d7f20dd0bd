// A real server on a random port (SQLite in a temporary directory) and Messengers for it,
// each with its own store; the clock is injectable for timer-driven behaviour.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type GhostproofServer } from '@ghostproof/server';
import { MemoryClientStore, Messenger, type ClientStore, type MessengerOptions } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';

export interface TestServer {
  server: GhostproofServer;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-client-test-'));
  const server = await createServer({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    log: { level: 'silent' },
    // Every test person registers from 127.0.0.1: raise the per-address registration limit.
    rates: { registrationsPerAddress: { limit: 1000, windowMs: 3_600_000 } },
    // New accounts become visible to lookups at the next epoch: keep epochs short in tests.
    kt: { epochIntervalMs: 50 },
  });
  const { url } = await server.listen();
  return {
    server,
    url,
    dataDir,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function options(
  url: string,
  store: ClientStore = new MemoryClientStore(),
  extra: Partial<MessengerOptions> = {},
): MessengerOptions {
  return { serverUrl: url, store, createSocket: nodeWebSocket, ...extra };
}

export async function person(
  url: string,
  username: string,
  extra: Partial<MessengerOptions> = {},
): Promise<Messenger> {
  const messenger = await Messenger.register(options(url, new MemoryClientStore(), extra), username);
  await messenger.connect();
  return messenger;
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
