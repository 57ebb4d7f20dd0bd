// The ClientStore contract (@ghostproof/testkit) against the stores that run in Node: the
// in-memory store and the SQLite store (each check on a new profile directory). The IndexedDB
// store runs the same checks in chromium (apps/web/test/indexeddb-store.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { MemoryClientStore } from '@ghostproof/client';
import { SqliteClientStore } from '@ghostproof/client/node';
import { describeClientStoreContract } from '@ghostproof/testkit';

describeClientStoreContract('MemoryClientStore', async () => new MemoryClientStore());

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
describeClientStoreContract('SqliteClientStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ghostproof-store-contract-'));
  dirs.push(dir);
  return SqliteClientStore.open(dir);
});
