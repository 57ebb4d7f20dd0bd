// Upgrading keeps what is stored: a database made by the previous release (schema 1) opens
// in this one, migrates to the current schema once, and still holds its accounts; the new
// tables (sign-in challenges) work. Both adapters.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { POSTGRES_SCHEMA_VERSION, postgresMigrations } from '../src/storage/postgres-schema.js';
import { PostgresStore } from '../src/storage/postgres.js';
import { migrations, SCHEMA_VERSION } from '../src/storage/schema.js';
import { SqliteStore } from '../src/storage/sqlite.js';
import type { Store } from '../src/storage/store.js';
import { createTestDatabase } from './helpers/postgres.js';

const account = {
  username: 'alice',
  skeleton: 'alice',
  identityKey: new Uint8Array(32).fill(1),
  signedDeviceList: new Uint8Array([1, 2, 3]),
  devices: [{ deviceId: 1, signatureKey: new Uint8Array(32).fill(2) }],
  now: 1_700_000_000_000,
};

async function checkUpgraded(store: Store): Promise<void> {
  const alice = await store.accountByUsername('alice');
  assert.ok(alice, 'the account stored before the upgrade is still there');
  assert.deepEqual(new Uint8Array(alice.identityKey), account.identityKey);
  // Schema 2: every update awaits the shared log's writer (after an upgrade, all of them).
  const unlogged = await store.accountUpdatesNotLogged(10);
  await store.markUpdatesLogged(unlogged.map((u) => u.seq));
  assert.equal((await store.accountUpdatesNotLogged(10)).length, 0);
  // Schema 2: challenges, single use.
  const nonce = new Uint8Array(32).fill(7);
  await store.addChallenge(nonce, 2_000_000_000_000);
  assert.equal(await store.takeChallenge(nonce), 2_000_000_000_000);
  assert.equal(await store.takeChallenge(nonce), undefined);
}

describe('schema migrations keep stored data', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('SQLite: a schema-1 file migrates to the current schema with its accounts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ghostproof-migrate-'));
    dirs.push(dir);
    const path = join(dir, 'ghostproof.sqlite');
    // The previous release's file: schema 1, with an account in it.
    const v1 = new SqliteStore({ path });
    await v1.createAccount(account);
    await v1.close();
    const raw = new Database(path);
    raw.exec(
      `DROP TABLE challenges; DROP INDEX accounts_awaiting_log; DROP INDEX account_updates_unlogged;
       ALTER TABLE account_updates DROP COLUMN kt_logged; UPDATE schema_version SET version = 1`,
    );
    assert.equal(migrations.length, SCHEMA_VERSION);
    raw.close();
    const store = new SqliteStore({ path });
    try {
      await checkUpgraded(store);
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    assert.equal(
      (check.prepare('SELECT version FROM schema_version').get() as { version: number }).version,
      2,
    );
    check.close();
  });

  it('PostgreSQL: a schema-1 database migrates to the current schema with its accounts', async () => {
    const db = await createTestDatabase();
    try {
      // The previous release's database: schema 1, with an account in it.
      const v1 = await PostgresStore.open({ connectionString: db.url });
      await v1.createAccount(account);
      await v1.close();
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(
        `DROP TABLE challenges; DROP INDEX accounts_awaiting_log;
         ALTER TABLE account_updates DROP COLUMN kt_logged; UPDATE schema_version SET version = 1`,
      );
      await client.end();
      assert.equal(postgresMigrations.length, POSTGRES_SCHEMA_VERSION);
      const store = await PostgresStore.open({ connectionString: db.url });
      try {
        assert.equal(await store.schemaVersion(), POSTGRES_SCHEMA_VERSION);
        await checkUpgraded(store);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });
});
