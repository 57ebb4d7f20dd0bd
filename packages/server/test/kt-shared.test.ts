// One key transparency log shared by two nodes on a fresh PostgreSQL database: one node at a
// time writes it (a lease: an advisory lock on a connection of its own), any node serves
// proofs, a device moving between nodes sees one log that only grows, and when the writer's
// connection ends the other node takes over without forking the log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { accountDeletionSignatureInput, routes } from '@ghostproof/api';
import { platformPrimitives } from '@ghostproof/crypto';
import { auditLog, HttpApi, MemoryClientStore, Messenger, type MessengerOptions } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import {
  KtLogOperator,
  openCheckpoint,
  parseNoteVerifierKey,
  verifyConsistencyProof,
  verifyLookupProof,
  type KtTrustAnchor,
} from '@ghostproof/kt';
import { NatsBus } from '../src/bus/nats.js';
import { loadOrCreateKtKeys } from '../src/kt/kt-keys.js';
import { KT_WRITER_LOCK, PostgresKtStore } from '../src/kt/postgres-kt-store.js';
import { call, eventually, startServer, TestAccount, type Harness } from './helpers/harness.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { NATS_URL } from '@ghostproof/testkit';

const TICK_MS = 100;

describe('one key transparency log shared by two nodes', () => {
  let db: TestDatabase;
  let keyDir: string;
  let busA: NatsBus;
  let busB: NatsBus;
  let nodeA: Harness;
  let nodeB: Harness;
  const people: Messenger[] = [];

  const options = (serverUrl: string, store = new MemoryClientStore()): MessengerOptions => ({
    serverUrl,
    store,
    createSocket: nodeWebSocket,
  });

  async function register(node: Harness, name: string): Promise<{ m: Messenger; store: MemoryClientStore }> {
    const store = new MemoryClientStore();
    const m = await Messenger.register(options(node.url, store), `${name}${randomBytes(3).toString('hex')}`);
    people.push(m);
    await m.connect();
    return { m, store };
  }

  async function anchorOf(node: Harness): Promise<KtTrustAnchor> {
    const keys = await new HttpApi(node.url).call(routes.ktKeys);
    return { logKey: parseNoteVerifierKey(keys.logKey), vrfPublicKey: keys.vrfPublicKey };
  }

  before(async () => {
    db = await createTestDatabase();
    keyDir = mkdtempSync(join(tmpdir(), 'ghostproof-kt-keys-'));
    const subjectPrefix = `ghostproof-test-${randomBytes(6).toString('hex')}`;
    busA = await NatsBus.connect({ servers: NATS_URL, subjectPrefix });
    busB = await NatsBus.connect({ servers: NATS_URL, subjectPrefix });
    const kt = { keyFile: join(keyDir, 'kt-keys.json'), epochIntervalMs: TICK_MS };
    nodeA = await startServer({ store: db.url, bus: busA, kt });
    nodeB = await startServer({ store: db.url, bus: busB, kt });
  });

  after(async () => {
    for (const m of people) await m.close();
    await nodeA.stop();
    await nodeB.stop();
    await busA.close();
    await busB.close();
    await db.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('has one writer: the first node to start; the other follows', () => {
    assert.equal(nodeA.server.kt!.isWriter, true);
    assert.equal(nodeB.server.kt!.isWriter, false);
  });

  it('logs accounts registered through either node; each node proves the other’s', async () => {
    // Registering through the follower resolves once the writer has logged the account.
    const alice = await register(nodeB, 'alice');
    const bob = await register(nodeA, 'bob');
    assert.deepEqual(await anchorOf(nodeA), await anchorOf(nodeB));
    // Several at once through the follower: the writer logs them all on one tick.
    const crowd = await Promise.all(['ivy', 'jon', 'kim', 'lea'].map((name) => register(nodeB, name)));
    for (const { m } of crowd) assert.equal((await bob.m.lookup(m.username)).username, m.username);
    // What a user sees: each can look the other up (KT-proven lists) through their own node.
    assert.equal((await alice.m.lookup(bob.m.username)).username, bob.m.username);
    assert.equal((await bob.m.lookup(alice.m.username)).username, alice.m.username);
    // And a conversation across nodes starts (key packages, Welcome over NATS).
    const id = await alice.m.direct(bob.m.username);
    await alice.m.sendText(id, 'hello across nodes');
    await eventually('bob has the message', async () =>
      (await bob.m.messages(id).catch(() => [])).some((m) => m.text === 'hello across nodes'),
    );
  });

  it('a follower answers from the newest epoch, not from the one it last read', async () => {
    const carol = await register(nodeA, 'carol');
    await nodeA.server.kt!.publish();
    const anchor = await anchorOf(nodeA);
    const token = await (
      carol.m as unknown as { sessionToken: (r: boolean) => Promise<Uint8Array> }
    ).sessionToken(false);
    const fromA = verifyLookupProof(
      anchor,
      carol.m.username,
      (await new HttpApi(nodeA.url).call(routes.ktLookup, { params: { username: carol.m.username }, token }))
        .proof,
    );
    // Asked right after the writer published, node B proves the same epoch (no tick waited),
    // five times over, so that B's own timer cannot have caught it up every time.
    for (let i = 0; i < 5; i++) {
      const published = openCheckpoint(await nodeA.server.kt!.publish(), anchor.logKey);
      const fromB = verifyLookupProof(
        anchor,
        carol.m.username,
        (
          await new HttpApi(nodeB.url).call(routes.ktLookup, {
            params: { username: carol.m.username },
            token,
          })
        ).proof,
      );
      assert.equal(fromB.version, 1);
      assert.ok(fromB.checkpoint.size >= published.size, 'node B answered from an older epoch');
      assert.ok(fromA.checkpoint.size < published.size);
    }
    // Negative control: a follower that does not catch up before answering is behind.
    const keys = loadOrCreateKtKeys(join(keyDir, 'kt-keys.json'));
    const store = await PostgresKtStore.open({ connectionString: db.url });
    try {
      const stale = await KtLogOperator.open({
        store,
        origin: nodeA.server.kt!.publicKeys.origin,
        signingKey: keys.signingKey,
        vrfSecretKey: keys.vrfSecretKey,
        follower: true,
      });
      await register(nodeB, 'dave');
      await nodeA.server.kt!.publish();
      const behind = verifyLookupProof(anchor, carol.m.username, await stale.proveLookup(carol.m.username));
      const current = verifyLookupProof(
        anchor,
        carol.m.username,
        (
          await new HttpApi(nodeB.url).call(routes.ktLookup, {
            params: { username: carol.m.username },
            token,
          })
        ).proof,
      );
      assert.ok(behind.checkpoint.size < current.checkpoint.size);
    } finally {
      await store.close();
    }
  });

  it('refuses to start a node whose key file differs from the shared log’s', async () => {
    const otherKeys = mkdtempSync(join(tmpdir(), 'ghostproof-kt-keys-'));
    try {
      await assert.rejects(
        startServer({ store: db.url, kt: { keyFile: join(otherKeys, 'kt-keys.json') } }),
        /not signed by the log key/,
      );
    } finally {
      rmSync(otherKeys, { recursive: true, force: true });
    }
  });

  it('logs a deletion made through a follower; every node proves the account deleted', async () => {
    const anchor = await anchorOf(nodeA);
    const dan = await (await TestAccount.create(nodeB.url)).register();
    const token = await dan.signIn();
    await call(
      nodeB.url,
      routes.deleteAccount,
      {
        signature: await platformPrimitives.ed25519.sign(
          dan.identity.secretKey,
          accountDeletionSignatureInput({
            origin: nodeB.server.origin,
            username: dan.username,
            sequence: 1n,
          }),
        ),
      },
      { token },
    );
    // The follower answered once the writer had logged the deletion; after the next epoch,
    // a lookup through either node proves version 2 with no device list.
    await nodeA.server.kt!.publish();
    const other = await (await TestAccount.create(nodeA.url)).register();
    const otherToken = await other.signIn();
    for (const node of [nodeA, nodeB]) {
      const { proof } = await call(node.url, routes.ktLookup, undefined, {
        token: otherToken,
        params: { username: dan.username },
      });
      const result = verifyLookupProof(anchor, dan.username, proof);
      assert.equal(result.version, 2);
      assert.equal(result.value!.length, 0);
    }
  });

  const writerOf = () => [nodeA, nodeB].filter((n) => n.server.kt!.isWriter);
  const following = (n: Harness) => {
    try {
      return !n.server.kt!.isWriter && n.server.kt!.operator.size > 0;
    } catch {
      return false; // Reopening.
    }
  };

  it('carries on with one writer and one log when the writer’s connection ends or its node stops', async () => {
    const anchor = await anchorOf(nodeA);
    const before = await auditLog(new HttpApi(nodeB.url));
    const erin = await register(nodeA, 'erin');
    // The writer's backend is terminated (as when its connection breaks: the lock goes with
    // it). Whichever node ticks first takes the lease; the other follows.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND objid = $1 AND granted AND database =
           (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [KT_WRITER_LOCK],
      );
      assert.equal(rowCount, 1);
    } finally {
      await admin.end();
    }
    await eventually('one node writes and the other follows', () => {
      const writers = writerOf();
      return writers.length === 1 && following(writers[0] === nodeA ? nodeB : nodeA);
    });
    const frank = await register(nodeA, 'frank');
    const gina = await register(nodeB, 'gina');
    assert.equal((await erin.m.lookup(frank.m.username)).username, frank.m.username);
    assert.equal((await frank.m.lookup(gina.m.username)).username, gina.m.username);

    // The writer's node stops (its lock is released with its connection): the other takes over.
    const stopped = writerOf()[0]!;
    const survivor = stopped === nodeA ? nodeB : nodeA;
    await stopped.server.close();
    await eventually('the surviving node writes the log', () => survivor.server.kt!.isWriter);
    const hana = await register(survivor, 'hana');
    assert.equal((await hana.m.lookup(gina.m.username)).username, gina.m.username);
    // Back up, the stopped node follows the log the survivor kept writing.
    await stopped.restart();
    await eventually('the restarted node follows', () => following(stopped));
    assert.equal(survivor.server.kt!.isWriter, true);

    // The log after both failovers extends the one before: an auditor that saw it before
    // carries on, through either node, without a fork.
    const afterwards = await auditLog(new HttpApi(stopped.url), before.state);
    assert.ok(afterwards.toSize > before.toSize);
    const older = openCheckpoint(before.state.checkpoint, anchor.logKey);
    const newest = (await new HttpApi(survivor.url).call(routes.ktCheckpoint)).note;
    const proof = await new HttpApi(stopped.url).call(routes.ktConsistency, {
      params: { from: String(older.size), to: String(openCheckpoint(newest, anchor.logKey).size) },
    });
    verifyConsistencyProof(anchor, older, newest, proof.proof);
  });
});
