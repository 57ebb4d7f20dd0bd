// What is the PostgreSQL adapter's own, beside the store contract that every adapter runs
// (store-contract.test.ts): it migrates its schema at start, once, in any namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../src/storage/postgres.js';
import { POSTGRES_SCHEMA_VERSION } from '../src/storage/postgres-schema.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

describe('PostgreSQL store', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
    await (await PostgresStore.open({ connectionString: db.url })).close();
  });
  after(async () => {
    await db.drop();
  });

  it('migrates at start, once: opening again changes nothing', async () => {
    const again = await PostgresStore.open({ connectionString: db.url });
    assert.equal(await again.schemaVersion(), POSTGRES_SCHEMA_VERSION);
    await again.close();
    const inSchema = await PostgresStore.open({ connectionString: db.url, schema: 'second_schema' });
    assert.equal(await inSchema.schemaVersion(), POSTGRES_SCHEMA_VERSION);
    assert.equal(await inSchema.accountByUsername('nobody'), undefined);
    await inSchema.close();
  });
});
