// Faults under load for the several-node adapters, bounded in time and on loopback only:
// PostgreSQL backends terminated mid-load (on the shared server, only the connections to this
// test's own database), a NATS server of the test's own restarted mid-run, and a PostgreSQL
// server of the test's own crashed and restarted mid-load. The nodes recover without a
// restart of their own and lose nothing they accepted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { routes } from '@ghostproof/api';
import { parseNoteVerifierKey, verifyLookupProof } from '@ghostproof/kt';
import { NatsBus } from '../src/bus/nats.js';
import {
  call,
  HttpError,
  pairInGroup,
  privateMessage,
  randomId,
  startServer,
  TestAccount,
  WsClient,
} from './helpers/harness.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { freePort, killProcess, spawnNats, startPostgres } from '@ghostproof/testkit/processes';

const ADMIN_URL = process.env.GHOSTPROOF_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SHARED_NATS = process.env.GHOSTPROOF_TEST_NATS ?? 'nats://127.0.0.1:4222';

interface Patience {
  /** How long 'unavailable' answers are waited out. */
  readonly ms: number;
  /** The pause before the next attempt. */
  readonly pauseMs: number;
  /** Called for each 'unavailable' answer. */
  readonly onRefused?: (() => void) | undefined;
}

/**
 * Runs `attempt` again while the server answers 'unavailable' (as a client honouring its retry
 * time does), for at most `patience.ms`; any other error, or the deadline, fails the test.
 */
async function whileUnavailable<T>(
  what: string,
  attempt: () => Promise<T>,
  patience: Patience = { ms: 30_000, pauseMs: 200 },
): Promise<T> {
  const deadline = Date.now() + patience.ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const code = error instanceof HttpError ? error.error.code : (error as { code?: string }).code;
      if (code !== 'unavailable') throw error;
      if (Date.now() > deadline)
        throw new Error(`${what}: still unavailable after ${patience.ms} ms`, { cause: error });
      patience.onRefused?.();
      await new Promise((resolve) => setTimeout(resolve, patience.pauseMs));
    }
  }
}

/** Sends until accepted, resending with the same client id as a real client does. */
async function sendUntilAccepted(
  ws: WsClient,
  groupId: Uint8Array,
  patienceMs = 1000,
  onRefused?: () => void,
): Promise<string> {
  const value = { clientId: randomId(), message: privateMessage(groupId, 1n) };
  const accepted = await whileUnavailable('a send', () => ws.ok('accepted', { case: 'sendMessage', value }), {
    ms: patienceMs,
    pauseMs: 20,
    onRefused,
  });
  return Buffer.from(accepted.messageId).toString('hex');
}

/** Everything in bob's mailbox, acknowledged as it arrives. */
async function drain(url: string, token: Uint8Array, expected: number): Promise<string[]> {
  const ws = await WsClient.connect(url, token);
  const seen: string[] = [];
  while (seen.length < expected) {
    const batch = (await ws.waitForDeliveries(seen.length + 1, 10_000)).slice(seen.length);
    seen.push(...batch.map((d) => Buffer.from(d.messageId).toString('hex')));
    await ws.ack(batch.map((d) => d.messageId));
  }
  await ws.expectNoMoreDeliveries(seen.length, 300);
  await ws.close();
  return seen;
}

describe('several nodes under faults', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('recovers from terminated PostgreSQL backends without a restart, losing no accepted message', async () => {
    const node = await startServer({ store: db.url, kt: { enabled: false } });
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      const { wsA, tokenB, groupId } = await pairInGroup(node.url);
      const database = new URL(db.url).pathname.slice(1);
      const accepted: string[] = [];
      let terminated = 0;
      for (let round = 0; round < 5; round++) {
        const sends = Array.from({ length: 40 }, () => sendUntilAccepted(wsA, groupId));
        // Cut every connection of the node to its database while the sends are in flight
        // (once the node has one: the previous round's cut may still be reconnecting).
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline) {
          const { rowCount } = await admin.query(
            'SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [database],
          );
          if ((rowCount ?? 0) > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const cut = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database],
        );
        terminated += cut.rowCount ?? 0;
        accepted.push(...(await Promise.all(sends)));
      }
      assert.ok(terminated >= 5, `connections were cut (${terminated})`);
      const delivered = await drain(node.url, tokenB, accepted.length + 1); // + the Welcome
      const messages = new Set(delivered);
      assert.equal(messages.size, delivered.length, 'nothing delivered twice');
      for (const id of accepted) assert.ok(messages.has(id), 'every accepted message delivered');
      await wsA.close();
    } finally {
      await admin.end();
      await node.stop();
    }
  });

  it('delivers live across nodes again after its NATS server restarts; nothing sent meanwhile is lost', async () => {
    const port = await freePort();
    let nats = await spawnNats(port);
    const subjectPrefix = `ghostproof-test-${randomBytes(6).toString('hex')}`;
    const busA = await NatsBus.connect({ servers: `nats://127.0.0.1:${port}`, subjectPrefix });
    const busB = await NatsBus.connect({ servers: `nats://127.0.0.1:${port}`, subjectPrefix });
    const nodeA = await startServer({ store: db.url, bus: busA, kt: { enabled: false } });
    const nodeB = await startServer({ store: db.url, bus: busB, kt: { enabled: false } });
    try {
      const { wsA, tokenB, groupId } = await pairInGroup(nodeA.url, nodeB.url);
      const wsB = await WsClient.connect(nodeB.url, tokenB);
      await wsB.waitForDeliveries(1); // the Welcome
      await sendUntilAccepted(wsA, groupId);
      await wsB.waitForDeliveries(2);

      await killProcess(nats);
      // Accepted while NATS is down: stored, delivered at bob's next read.
      const whileDown = await sendUntilAccepted(wsA, groupId);
      nats = await spawnNats(port);
      // The buses reconnect by themselves and resubscribe: a new message arrives live.
      const deadline = Date.now() + 10_000;
      let liveAgain = false;
      while (!liveAgain && Date.now() < deadline) {
        const before = wsB.deliveries.length;
        await sendUntilAccepted(wsA, groupId);
        liveAgain = await wsB.waitForDeliveries(before + 1, 500).then(
          () => true,
          () => false,
        );
      }
      assert.ok(liveAgain, 'live delivery across nodes resumed');
      // And bob need not reconnect for the one sent while NATS was down: when node B's bus
      // came back, his connection read his mailbox (the notice may never have reached B).
      const idsOf = (deliveries: readonly { messageId: Uint8Array }[]) =>
        deliveries.map((d) => Buffer.from(d.messageId).toString('hex'));
      const waitUntil = Date.now() + 5000;
      while (!idsOf(wsB.deliveries).includes(whileDown) && Date.now() < waitUntil) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(idsOf(wsB.deliveries).includes(whileDown), 'delivered on the same connection');
      await wsB.close();
      // Nothing accepted is lost: the one sent while NATS was down is in bob's mailbox.
      const ws = await WsClient.connect(nodeB.url, tokenB);
      await ws.waitForDeliveries(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const ids = ws.deliveries.map((d) => Buffer.from(d.messageId).toString('hex'));
      assert.ok(ids.includes(whileDown));
      await ws.close();
      await wsA.close();
    } finally {
      await nodeA.stop();
      await nodeB.stop();
      await busA.close();
      await busB.close();
      await killProcess(nats);
    }
  });

  it('survives a PostgreSQL crash and restart mid-load: no node restart, nothing lost, one log', async () => {
    const pgServer = await startPostgres(await freePort());
    const keyDir = mkdtempSync(join(tmpdir(), 'ghostproof-kt-keys-'));
    const subjectPrefix = `ghostproof-test-${randomBytes(6).toString('hex')}`;
    const busA = await NatsBus.connect({ servers: SHARED_NATS, subjectPrefix });
    const busB = await NatsBus.connect({ servers: SHARED_NATS, subjectPrefix });
    // Key transparency on: its writer's lease connection dies with the database too.
    const kt = { keyFile: join(keyDir, 'kt-keys.json'), epochIntervalMs: 100 };
    const nodeA = await startServer({ store: pgServer.url, bus: busA, kt });
    const nodeB = await startServer({ store: pgServer.url, bus: busB, kt });
    try {
      const { wsA, tokenB, groupId } = await pairInGroup(nodeA.url, nodeB.url);
      const accepted: string[] = [];
      let crash: Promise<void> | undefined;
      let refused = 0;
      for (let i = 0; i < 300; i++) {
        // Mid-load: every backend dies at once and the server recovers from its WAL.
        if (i === 100) crash = pgServer.crashRestart();
        accepted.push(await sendUntilAccepted(wsA, groupId, 60_000, () => refused++));
      }
      await crash;
      assert.ok(refused > 0, 'the crash happened while messages were being sent');
      // Everything the nodes accepted is in bob's mailbox, once; his welcome first.
      const seen = await drain(nodeB.url, tokenB, accepted.length + 1);
      assert.equal(new Set(seen).size, seen.length, 'nothing delivered twice in one read');
      assert.deepEqual(new Set(seen.slice(1)), new Set(accepted));
      // Key transparency carries on: a new account through either node is logged and proven.
      const keys = await call(nodeA.url, routes.ktKeys, undefined);
      const anchor = { logKey: parseNoteVerifierKey(keys.logKey), vrfPublicKey: keys.vrfPublicKey };
      // The writer reopens the log after the crash; until then the nodes answer 'unavailable'
      // with a retry time, and a client waits as told (under load this has taken seconds).
      for (const node of [nodeA, nodeB]) {
        const carol = await whileUnavailable('registration after the crash', async () =>
          (await TestAccount.create(node.url)).register(),
        );
        const token = await carol.signIn();
        await whileUnavailable('publishing after the crash', () =>
          [nodeA, nodeB].find((n) => n.server.kt!.isWriter)!.server.kt!.publish(),
        );
        const { proof } = await whileUnavailable('a lookup after the crash', () =>
          call(node.url, routes.ktLookup, undefined, { token, params: { username: carol.username } }),
        );
        assert.equal(verifyLookupProof(anchor, carol.username, proof).version, 1);
      }
      assert.equal([nodeA, nodeB].filter((n) => n.server.kt!.isWriter).length, 1);
      await wsA.close();
    } finally {
      await nodeA.stop();
      await nodeB.stop();
      await busA.close();
      await busB.close();
      await pgServer.stop();
      rmSync(keyDir, { recursive: true, force: true });
    }
  });
});
