// Upgrading keeps what is stored: a database made by an earlier release opens in this one,
// migrates to the current schema once, and still holds its rows. The earlier release's
// database is built by the migrations it ran (a released migration never changes) and its
// rows are written with that release's SQL, so the test does not depend on undoing what later
// migrations did. Both adapters.
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
import type { CommitInput, MailboxKey, Store } from '../src/storage/store.js';
import { createTestDatabase } from './helpers/postgres.js';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;

/** Runs one statement (`?` placeholders) of an earlier release; returns what it returns. */
type Run = (sql: string, params?: readonly unknown[]) => Promise<Record<string, unknown>[]>;

/** A database as release `version` left it: its migrations, run as the adapters run them. */
function sqliteAt(path: string, version: number): { run: Run; close: () => void } {
  const db = new Database(path);
  db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
  db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(version);
  for (const sql of migrations.slice(0, version)) db.exec(sql);
  return {
    run: async (sql, params = []) => {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
      statement.run(...params);
      return [];
    },
    close: () => db.close(),
  };
}

async function postgresAt(url: string, version: number): Promise<{ run: Run; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE schema_version (version INTEGER NOT NULL)');
  await client.query('INSERT INTO schema_version (version) VALUES ($1)', [version]);
  for (const sql of postgresMigrations.slice(0, version)) await client.query(sql);
  return {
    run: async (sql, params = []) => {
      let n = 0;
      return (
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          [...params],
        )
      ).rows as Record<string, unknown>[];
    },
    close: () => client.end(),
  };
}

/** What an earlier release stored, written in its schema; gives the check for after the upgrade. */
interface Release {
  readonly version: number;
  readonly title: string;
  write(run: Run): Promise<(store: Store) => Promise<void>>;
}

/** An account with device 1, as releases 1 and 2 wrote it; returns its id. */
async function writeAccount(run: Run, username: string): Promise<number> {
  const [row] = await run(
    `INSERT INTO accounts (username, skeleton, identity_key, sequence, device_list, max_device_id, created_at)
     VALUES (?, ?, ?, 1, ?, 1, ?) RETURNING id`,
    [username, username, Buffer.alloc(32, 1), Buffer.from([1, 2, 3]), NOW],
  );
  const id = Number(row!.id);
  await run('INSERT INTO devices (account_id, device_id, signature_key) VALUES (?, 1, ?)', [
    id,
    Buffer.alloc(32, 2),
  ]);
  return id;
}

// ---- schema 1 → current --------------------------------------------------------------------

async function writeRelease1(run: Run): Promise<(store: Store) => Promise<void>> {
  await writeAccount(run, 'alice');
  await run('INSERT INTO account_updates (username, version, device_list, at) VALUES (?, 1, ?, ?)', [
    'alice',
    Buffer.from([1, 2, 3]),
    NOW,
  ]);
  return checkRelease1Upgraded;
}

async function checkRelease1Upgraded(store: Store): Promise<void> {
  const alice = await store.accountByUsername('alice');
  assert.ok(alice, 'the account stored before the upgrade is still there');
  assert.deepEqual(new Uint8Array(alice.identityKey), new Uint8Array(32).fill(1));
  // Schema 2: every update awaits the shared log's writer (after an upgrade, all of them).
  const unlogged = await store.accountUpdatesNotLogged(10);
  assert.deepEqual(
    unlogged.map((u) => [u.username, u.version]),
    [['alice', 1n]],
  );
  await store.markUpdatesLogged(unlogged.map((u) => u.seq));
  assert.equal((await store.accountUpdatesNotLogged(10)).length, 0);
  // Schema 2: challenges, single use.
  const nonce = new Uint8Array(32).fill(7);
  await store.addChallenge(nonce, 2_000_000_000_000);
  assert.equal(await store.takeChallenge(nonce), 2_000_000_000_000);
  assert.equal(await store.takeChallenge(nonce), undefined);
}

// ---- schema 2 → current: claims made before claims recorded the claiming device ---------------

const claimedBefore = Buffer.alloc(32, 0xc1);

/** Alice claimed a package of Victor's under release 2, which recorded only her account. */
async function writeRelease2(run: Run): Promise<(store: Store) => Promise<void>> {
  const alice = await writeAccount(run, 'alice');
  const victor = await writeAccount(run, 'victor');
  await run(
    `INSERT INTO key_package_claims (ref, account_id, device_id, claimed_by, claimed_at, expires_at)
     VALUES (?, ?, 1, ?, ?, ?)`,
    [claimedBefore, victor, alice, NOW, NOW + 30 * DAY],
  );
  const ids = { alice: { accountId: alice, deviceId: 1 }, victor: { accountId: victor, deviceId: 1 } };
  return (store) => checkRelease2Upgraded(store, ids);
}

function commitWithWelcome(
  sender: MailboxKey,
  groupId: Uint8Array,
  epoch: bigint,
  ref: Uint8Array,
): CommitInput {
  return {
    sender,
    clientId: crypto.getRandomValues(new Uint8Array(16)),
    contentHash: crypto.getRandomValues(new Uint8Array(32)),
    now: NOW + DAY,
    expiresAt: NOW + 30 * DAY,
    groupId,
    epoch,
    commit: crypto.getRandomValues(new Uint8Array(64)),
    welcome: { body: crypto.getRandomValues(new Uint8Array(64)), keyPackageRefs: [ref] },
    remove: [],
    maxMembers: 100,
  };
}

/**
 * A claim without a recorded claiming device is no device's claim: it routes no Welcome, not
 * even one from the account that made it (which claims again), and is otherwise kept.
 */
async function checkRelease2Upgraded(store: Store, ids: { alice: MailboxKey; victor: MailboxKey }) {
  const { alice, victor } = ids;
  const now = NOW + DAY;
  const groupId = crypto.getRandomValues(new Uint8Array(16));
  await store.createGroup(groupId, alice, now);
  await assert.rejects(store.sequenceCommit(commitWithWelcome(alice, groupId, 0n, claimedBefore)), {
    code: 'unknown-key-package',
  });
  const unchanged = await store.routingList(groupId, alice);
  assert.equal(unchanged.epoch, 0n);
  assert.deepEqual(
    unchanged.members.map((m) => m.username),
    ['alice'],
  );
  assert.deepEqual(await store.pendingDeliveries(victor, 0, 10, now), []);
  // The claim's row is kept: Victor's package is still refused a second upload.
  await assert.rejects(
    store.addKeyPackages({
      mailbox: victor,
      oneTime: [{ ref: claimedBefore, body: new Uint8Array(40), notAfter: NOW + 60 * DAY }],
      maxOneTime: 10,
      now,
    }),
    { code: 'conflict' },
  );
  // Claimed again after the upgrade, a package routes Alice's Welcome as before.
  const claimedAfter = Buffer.alloc(32, 0xc2);
  await store.addKeyPackages({
    mailbox: victor,
    oneTime: [{ ref: claimedAfter, body: new Uint8Array(40), notAfter: NOW + 60 * DAY }],
    maxOneTime: 10,
    now,
  });
  const [claim] = await store.claimKeyPackages({
    target: victor.accountId,
    deviceIds: [1],
    claimer: alice,
    now,
    claimExpiresAt: now + 30 * DAY,
  });
  assert.ok(claim?.keyPackage);
  const accepted = await store.sequenceCommit(commitWithWelcome(alice, groupId, 0n, claimedAfter));
  assert.equal(accepted.epoch, 1n);
  const delivered = await store.pendingDeliveries(victor, 0, 10, now);
  assert.deepEqual(
    delivered.map((d) => d.kind),
    ['welcome'],
  );
}

const releases: readonly Release[] = [
  {
    version: 1,
    title: 'a schema-1 database migrates to the current schema with its accounts and account updates',
    write: writeRelease1,
  },
  {
    version: 2,
    title: 'a schema-2 claim, which has no claiming device, is kept but routes no Welcome',
    write: writeRelease2,
  },
];

describe('schema migrations keep stored data', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('every schema version has its migration, in both adapters', () => {
    assert.equal(migrations.length, SCHEMA_VERSION);
    assert.equal(postgresMigrations.length, POSTGRES_SCHEMA_VERSION);
  });

  for (const release of releases) {
    it(`SQLite: ${release.title}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ghostproof-migrate-'));
      dirs.push(dir);
      const path = join(dir, 'ghostproof.sqlite');
      const previous = sqliteAt(path, release.version);
      const check = await release.write(previous.run);
      previous.close();
      const store = new SqliteStore({ path });
      try {
        assert.equal(store.schemaVersion(), SCHEMA_VERSION);
        await check(store);
      } finally {
        await store.close();
      }
      // Opened again, it is not migrated twice.
      const again = new SqliteStore({ path });
      assert.equal(again.schemaVersion(), SCHEMA_VERSION);
      await again.close();
    });

    it(`PostgreSQL: ${release.title}`, async () => {
      const db = await createTestDatabase();
      try {
        const previous = await postgresAt(db.url, release.version);
        const check = await release.write(previous.run);
        await previous.close();
        const store = await PostgresStore.open({ connectionString: db.url });
        try {
          assert.equal(await store.schemaVersion(), POSTGRES_SCHEMA_VERSION);
          await check(store);
        } finally {
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });
  }
});
