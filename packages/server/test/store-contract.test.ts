// The store contract (contract/store-contract.ts) run against both adapters: SQLite, one
// file per store in a temporary directory, and PostgreSQL, one schema per store in a
// database of this file's own on the local server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { PostgresStore } from '../src/storage/postgres.js';
import { SqliteStore } from '../src/storage/sqlite.js';
import { describeStoreContract } from './contract/store-contract.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'ghostproof-contract-'));
let files = 0;
describeStoreContract('SQLite', async () => new SqliteStore({ path: join(dir, `store-${++files}.sqlite`) }));

let database: Promise<TestDatabase> | undefined;
let schemas = 0;
describeStoreContract('PostgreSQL', async () => {
  database ??= createTestDatabase();
  return PostgresStore.open({ connectionString: (await database).url, schema: `contract_${++schemas}` });
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await (await database)?.drop();
});
