// Two nodes in one process on one fresh PostgreSQL database, where positions in a mailbox
// come from one sequence that every node draws from: an entry can become visible, and its
// notice can arrive, after one with a higher position. A connected device still gets each
// entry, once, without reconnecting, also when the node that stored it died before
// announcing it. Negative controls: with the gateway as it was (notices at or below the
// highest position sent were dropped, and reads started after that position), the first test
// gets only m2 and the second never gets m1; with a duplicate answered without announcing
// what still waits, the third never gets the resent message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { Delivery } from '@ghostproof/api';
import type { DeliveryBus, DeliveryNotice, MailboxListener } from '../src/bus/bus.js';
import type { MailboxKey } from '../src/storage/store.js';
import {
  pairInGroup,
  privateMessage,
  randomId,
  startServer,
  WsClient,
  type Harness,
} from './helpers/harness.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { toHex as hex } from '@ghostproof/testkit/hex';

/** One bus for nodes in one process; notices wait until released, then go newest first. */
class ReorderingBus implements DeliveryBus {
  private readonly listeners = new Map<string, MailboxListener>();
  held: { key: string; notice: DeliveryNotice }[] = [];

  /** Lossy or not, as the test needs (a held notice never released is a lost one). */
  constructor(readonly lossy = false) {}

  publish(mailbox: MailboxKey, notice: DeliveryNotice): void {
    this.held.push({ key: `${mailbox.accountId}/${mailbox.deviceId}`, notice });
  }

  subscribe(mailbox: MailboxKey, listener: MailboxListener): () => void {
    const key = `${mailbox.accountId}/${mailbox.deviceId}`;
    this.listeners.set(key, listener);
    return () => {
      if (this.listeners.get(key) === listener) this.listeners.delete(key);
    };
  }

  listenerOf(mailbox: MailboxKey): MailboxListener | undefined {
    return this.listeners.get(`${mailbox.accountId}/${mailbox.deviceId}`);
  }

  /** Hands the held notices over, newest first; returns them. */
  releaseNewestFirst(): { key: string; notice: DeliveryNotice }[] {
    const held = this.held.reverse();
    this.held = [];
    this.redeliver(held);
    return held;
  }

  redeliver(notices: readonly { key: string; notice: DeliveryNotice }[]): void {
    for (const { key, notice } of notices) this.listeners.get(key)?.deliver(notice);
  }
}

const positionOf = (messageId: Uint8Array) => Buffer.from(messageId).readBigUInt64BE(0);

/** alice (signed in on `x`) created a group and added bob; bob is connected to `y`, Welcome acked. */
async function aliceAndBob(x: Harness, y: Harness) {
  const { a: alice, b: bob, tokenA, tokenB, wsA: aliceOnX, groupId } = await pairInGroup(x.url, y.url);
  const bobOnY = await WsClient.connect(y.url, tokenB);
  const [welcome] = await bobOnY.waitForDeliveries(1);
  await bobOnY.ack([welcome!.messageId]);
  const aliceOnY = await WsClient.connect(y.url, tokenA);
  return { alice, bob, groupId, aliceOnX, aliceOnY, bobOnY };
}

async function send(ws: WsClient, groupId: Uint8Array, clientId = randomId()): Promise<Uint8Array> {
  const value = { clientId, message: privateMessage(groupId, 1n) };
  return (await ws.ok('accepted', { case: 'sendMessage', value })).messageId;
}

/** Acknowledges every delivery as it arrives until none came for `quietMs`; returns them all. */
async function receiveUntilQuiet(ws: WsClient, from: number, quietMs = 400): Promise<Delivery[]> {
  let acked = from;
  for (;;) {
    try {
      await ws.waitForDeliveries(acked + 1, quietMs);
    } catch {
      return ws.deliveries.slice(from);
    }
    const fresh = ws.deliveries.slice(acked);
    acked = ws.deliveries.length;
    await ws.ack(fresh.map((d) => d.messageId));
  }
}

describe('delivery order across nodes on one PostgreSQL database', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('delivers, once, an entry whose notice arrives after the notice of a later entry', async () => {
    const bus = new ReorderingBus();
    const x = await startServer({ store: db.url, bus, kt: { enabled: false } });
    const y = await startServer({ store: db.url, bus, kt: { enabled: false } });
    try {
      const { groupId, aliceOnX, aliceOnY, bobOnY } = await aliceAndBob(x, y);
      bus.held = [];
      const m1 = await send(aliceOnX, groupId);
      const m2 = await send(aliceOnY, groupId);
      assert.ok(positionOf(m1) < positionOf(m2));
      const released = bus.releaseNewestFirst();
      await bobOnY.waitForDeliveries(3, 5000);
      assert.deepEqual(
        bobOnY.deliveries.slice(1).map((d) => hex(d.messageId)),
        [hex(m2), hex(m1)],
        'm2 live, then m1 from the mailbox',
      );
      // The same notices once more (as when a read raced them): nothing is sent twice on the
      // connection, whether the entries are still in flight or already acknowledged.
      bus.redeliver(released);
      await bobOnY.expectNoMoreDeliveries(3, 300);
      await bobOnY.ack([m1, m2]);
      bus.redeliver(released);
      await bobOnY.expectNoMoreDeliveries(3, 300);
      const m3 = await send(aliceOnY, groupId);
      bus.releaseNewestFirst();
      await bobOnY.waitForDeliveries(4, 5000);
      assert.equal(hex(bobOnY.deliveries[3]!.messageId), hex(m3));
      await bobOnY.expectNoMoreDeliveries(4, 300);
      for (const ws of [aliceOnX, aliceOnY, bobOnY]) await ws.close();
    } finally {
      await x.stop();
      await y.stop();
    }
  });

  it('a mailbox read does not skip an entry that committed after one with a higher position', async () => {
    // Separate in-process buses: what node x stores for bob, connected to y, is never
    // noticed there (as when x dies between its commit and its notice); only a read finds it.
    // A window of one makes bob's connection read its mailbox after each acknowledgement.
    const x = await startServer({ store: db.url, deliveryWindow: 1, kt: { enabled: false } });
    const y = await startServer({ store: db.url, deliveryWindow: 1, kt: { enabled: false } });
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      const { alice, groupId, aliceOnX, aliceOnY, bobOnY } = await aliceAndBob(x, y);
      // Hold node x's write between drawing its position and committing: an uncommitted row
      // with the client id x is about to record makes x's insert wait for this transaction.
      const clientId = randomId();
      const { rows } = await blocker.query<{ id: number }>('SELECT id FROM accounts WHERE username = $1', [
        alice.username,
      ]);
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO sends (account_id, device_id, client_id, content_hash, message_id, epoch, accepted_at, expires_at)
         VALUES ($1, 1, $2, '\\x00', '\\x00', 0, 0, 0)`,
        [rows[0]!.id, Buffer.from(clientId)],
      );
      const m1Accepted = send(aliceOnX, groupId, clientId);
      const database = new URL(db.url).pathname.slice(1);
      for (let waited = 0; ; waited += 20) {
        const waiting = await blocker.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
          [database],
        );
        if (waiting.rows[0]!.n > 0) break;
        assert.ok(waited < 5000, "node x's write is waiting");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const m2 = await send(aliceOnY, groupId);
      await bobOnY.waitForDeliveries(2, 5000);
      assert.equal(hex(bobOnY.deliveries[1]!.messageId), hex(m2));
      // Window full: m3 waits in the mailbox, and bob's next read starts after the ack of m2.
      const m3 = await send(aliceOnY, groupId);
      await blocker.query('ROLLBACK');
      const m1 = await m1Accepted;
      assert.ok(positionOf(m1) < positionOf(m2), 'm1 is below m2 yet committed after it');

      const received = await receiveUntilQuiet(bobOnY, 1);
      const ids = received.map((d) => hex(d.messageId));
      assert.deepEqual([...ids].sort(), [hex(m1), hex(m2), hex(m3)].sort(), 'each exactly once');
      for (const ws of [aliceOnX, aliceOnY, bobOnY]) await ws.close();
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
      await x.stop();
      await y.stop();
    }
  });

  it('a resend answered as a duplicate announces again what still waits (the first node died before it could)', async () => {
    // Separate in-process buses: what x stores is not announced to bob on y, as if x had
    // died between its commit and its notice. alice's client resends to y.
    const x = await startServer({ store: db.url, kt: { enabled: false } });
    const y = await startServer({ store: db.url, kt: { enabled: false } });
    try {
      const { groupId, aliceOnX, aliceOnY, bobOnY } = await aliceAndBob(x, y);
      const clientId = randomId();
      const message = privateMessage(groupId, 1n);
      const first = await aliceOnX.ok('accepted', { case: 'sendMessage', value: { clientId, message } });
      await bobOnY.expectNoMoreDeliveries(1, 300);
      // Resent among new messages, twice: y stores them together in one statement.
      const resend = () => aliceOnY.ok('accepted', { case: 'sendMessage', value: { clientId, message } });
      const [again, twice, m2, m3] = await Promise.all([
        resend(),
        resend(),
        send(aliceOnY, groupId),
        send(aliceOnY, groupId),
      ]);
      assert.deepEqual([again.duplicate, twice.duplicate], [true, true]);
      assert.equal(hex(again.messageId), hex(first.messageId));
      await bobOnY.waitForDeliveries(4, 5000);
      assert.deepEqual(
        bobOnY.deliveries
          .slice(1)
          .map((d) => hex(d.messageId))
          .sort(),
        [first.messageId, m2, m3].map(hex).sort(),
      );
      assert.deepEqual(
        bobOnY.deliveries.find((d) => hex(d.messageId) === hex(first.messageId))!.message,
        message,
      );
      // Once only, and nothing once acknowledged.
      await resend();
      await bobOnY.expectNoMoreDeliveries(4, 300);
      await bobOnY.ack([first.messageId]);
      await resend();
      await bobOnY.expectNoMoreDeliveries(4, 300);
      // A resend on its own takes the other path through the store.
      const lone = { clientId: randomId(), message: privateMessage(groupId, 1n) };
      const m4 = await aliceOnX.ok('accepted', { case: 'sendMessage', value: lone });
      await bobOnY.expectNoMoreDeliveries(4, 300);
      await aliceOnY.ok('accepted', { case: 'sendMessage', value: lone });
      await bobOnY.waitForDeliveries(5, 5000);
      assert.equal(hex(bobOnY.deliveries[4]!.messageId), hex(m4.messageId));
      for (const ws of [aliceOnX, aliceOnY, bobOnY]) await ws.close();
    } finally {
      await x.stop();
      await y.stop();
    }
  });
});

describe('mailbox reads', () => {
  for (const adapter of ['sqlite', 'postgres'] as const) {
    it(`leave out the positions the connection already sent (${adapter})`, async () => {
      const db = adapter === 'postgres' ? await createTestDatabase() : undefined;
      const node = await startServer(db ? { store: db.url, kt: { enabled: false } } : {});
      try {
        // On one node, alice's second connection replaced her first.
        const { bob, groupId, aliceOnY, bobOnY } = await aliceAndBob(node, node);
        await bobOnY.close();
        const sent = [];
        for (let i = 0; i < 4; i++) sent.push(await send(aliceOnY, groupId));
        const { store } = node.server;
        const mailbox = { accountId: (await store.accountByUsername(bob.username))!.id, deviceId: 1 };
        const all = await store.pendingDeliveries(mailbox, 0, 10, Date.now());
        assert.deepEqual(
          all.map((d) => hex(d.messageId)),
          sent.map(hex),
        );
        const rest = await store.pendingDeliveries(mailbox, 0, 10, Date.now(), [all[0]!.seq, all[2]!.seq]);
        assert.deepEqual(
          rest.map((d) => hex(d.messageId)),
          [sent[1]!, sent[3]!].map(hex),
        );
        await aliceOnY.close();
      } finally {
        await node.stop();
        await db?.drop();
      }
    });
  }
});

describe('a bus that can lose notices', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('reads the mailbox every few pings on a bus that can lose notices: a lost notice still arrives', async () => {
    // Negative control: on a bus that says it loses nothing, the lost notice is never made up.
    for (const lossy of [true, false]) {
      const bus = new ReorderingBus(lossy);
      const options = { store: db.url, bus, kt: { enabled: false }, pingIntervalMs: 250 };
      const x = await startServer(options);
      const y = await startServer(options);
      try {
        const { groupId, aliceOnX, bobOnY } = await aliceAndBob(x, y);
        bus.held = [];
        // Stored by node x, its notice lost (held and never released), as when x dies first.
        const lost = await send(aliceOnX, groupId);
        const arrived = await bobOnY.waitForDeliveries(2, 3000).then(
          () => true,
          () => false,
        );
        assert.equal(arrived, lossy);
        if (lossy) assert.equal(hex(bobOnY.deliveries[1]!.messageId), hex(lost));
      } finally {
        await x.stop();
        await y.stop();
      }
    }
  });
});
