// The server on the PostgreSQL adapter: a representative subset of the behaviour tests
// (accounts, key packages, delivery, idempotency, epoch compare-and-set, redelivery) run
// against a fresh database on the local PostgreSQL, plus the adapter's own migrations.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ContentType, DeliveryKind, routes } from '@ghostproof/api';
import { PostgresStore } from '../src/storage/postgres.js';
import { POSTGRES_SCHEMA_VERSION } from '../src/storage/postgres-schema.js';
import {
  call,
  pairInGroup,
  privateMessage,
  randomId,
  startServer,
  TestAccount,
  WsClient,
  type Harness,
} from './helpers/harness.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

describe('PostgreSQL store', () => {
  let db: TestDatabase;
  let h: Harness;
  before(async () => {
    db = await createTestDatabase();
    h = await startServer({ store: await PostgresStore.open({ connectionString: db.url }) });
  });
  after(async () => {
    await h.stop();
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

  it('registers an account, signs its device in, and opens an authenticated session', async () => {
    const alice = await (await TestAccount.create(h.url)).register();
    const token = await alice.signIn();
    const ws = await WsClient.connect(h.url, token);
    await ws.ok('pong', { case: 'ping', value: {} });
    await ws.close();
    const again = TestAccount.create(h.url, alice.username);
    await assert.rejects(async () => (await again).register(), /username-taken/);
  });

  it('claims key packages one-time first, then the last resort', async () => {
    const bob = await (await TestAccount.create(h.url)).register();
    const bobToken = await bob.signIn();
    const oneTime = await bob.keyPackage();
    const lastResort = await bob.keyPackage(1, 0xf00d);
    const count = await call(
      h.url,
      routes.uploadKeyPackages,
      { oneTime: [oneTime.bytes], lastResort: lastResort.bytes },
      { token: bobToken },
    );
    assert.deepEqual([count.oneTime, count.lastResort], [1, true]);
    const alice = await (await TestAccount.create(h.url)).register();
    const token = await alice.signIn();
    const claim = () => call(h.url, routes.claimKeyPackages, { username: bob.username }, { token });
    assert.deepEqual((await claim()).keyPackages[0]!.keyPackage, oneTime.bytes);
    const second = (await claim()).keyPackages[0]!;
    assert.equal(second.lastResort, true);
    assert.deepEqual(second.keyPackage, lastResort.bytes);
  });

  it('delivers live, stores for an offline device, and deletes only after the ack', async () => {
    const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
    const m1 = privateMessage(groupId, epoch);
    await wsA.ok('accepted', { case: 'sendMessage', value: { clientId: randomId(), message: m1 } });
    const wsB = await WsClient.connect(h.url, tokenB);
    const [welcome, message] = await wsB.waitForDeliveries(2);
    assert.equal(welcome!.kind, DeliveryKind.WELCOME);
    assert.deepEqual(message!.message, m1);
    const m2 = privateMessage(groupId, epoch);
    await wsA.ok('accepted', { case: 'sendMessage', value: { clientId: randomId(), message: m2 } });
    const [, , live] = await wsB.waitForDeliveries(3);
    assert.deepEqual(live!.message, m2);
    assert.equal(await wsB.ack(wsB.deliveries.map((d) => d.messageId)), 3);
    await wsB.close();
    const again = await WsClient.connect(h.url, tokenB);
    await again.expectNoMoreDeliveries(0);
    await again.close();
    await wsA.close();
  });

  it('redelivers an unacked message on reconnect, with the same id', async () => {
    const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
    const wsB = await WsClient.connect(h.url, tokenB);
    await wsB.waitForDeliveries(1);
    await wsB.ack([wsB.deliveries[0]!.messageId]);
    await wsA.ok('accepted', {
      case: 'sendMessage',
      value: { clientId: randomId(), message: privateMessage(groupId, epoch) },
    });
    const [first] = (await wsB.waitForDeliveries(2)).slice(1);
    await wsB.close();
    const wsB2 = await WsClient.connect(h.url, tokenB);
    const [redelivered] = await wsB2.waitForDeliveries(1);
    assert.deepEqual(redelivered!.messageId, first!.messageId);
    await wsB2.close();
    await wsA.close();
  });

  it('stores a retried send once and answers it as before', async () => {
    const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
    const clientId = randomId();
    const message = privateMessage(groupId, epoch);
    const first = await wsA.ok('accepted', { case: 'sendMessage', value: { clientId, message } });
    const second = await wsA.ok('accepted', { case: 'sendMessage', value: { clientId, message } });
    assert.equal(second.duplicate, true);
    assert.deepEqual(second.messageId, first.messageId);
    await wsA.fails('conflict', {
      case: 'sendMessage',
      value: { clientId, message: privateMessage(groupId, epoch) },
    });
    const wsB = await WsClient.connect(h.url, tokenB);
    await wsB.expectNoMoreDeliveries(2, 300);
    await wsB.close();
    await wsA.close();
  });

  it('sequences commits by epoch compare-and-set: a stale commit gets stale-epoch', async () => {
    const { tokenB, wsA, groupId } = await pairInGroup(h.url); // at epoch 1
    const wsB = await WsClient.connect(h.url, tokenB);
    const commitB = { clientId: randomId(), commit: privateMessage(groupId, 1n, ContentType.Commit) };
    const commitA = { clientId: randomId(), commit: privateMessage(groupId, 1n, ContentType.Commit) };
    assert.equal((await wsB.ok('accepted', { case: 'sendCommit', value: commitB })).epoch, 2n);
    await wsA.fails('stale-epoch', { case: 'sendCommit', value: commitA });
    const resent = await wsB.ok('accepted', { case: 'sendCommit', value: commitB });
    assert.equal(resent.duplicate, true);
    const list = await wsA.ok('routingList', { case: 'getRoutingList', value: { groupId } });
    assert.equal(list.epoch, 2n);
    await wsA.expectNoMoreDeliveries(1);
    assert.equal(wsA.deliveries[0]!.kind, DeliveryKind.COMMIT);
    await wsA.close();
    await wsB.close();
  });

  it('accepts exactly one of many commits racing for one epoch', async () => {
    const { tokenB, wsA, groupId } = await pairInGroup(h.url);
    const wsB = await WsClient.connect(h.url, tokenB);
    const commit = () => ({ clientId: randomId(), commit: privateMessage(groupId, 1n, ContentType.Commit) });
    const outcomes = await Promise.allSettled([
      wsA.ok('accepted', { case: 'sendCommit', value: commit() }),
      wsB.ok('accepted', { case: 'sendCommit', value: commit() }),
      wsA.ok('accepted', { case: 'sendCommit', value: commit() }),
      wsB.ok('accepted', { case: 'sendCommit', value: commit() }),
    ]);
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) {
      if (o.status === 'rejected') assert.equal((o.reason as { code?: string }).code, 'stale-epoch');
    }
    await wsA.close();
    await wsB.close();
  });

  it('stores the messages of one tick together, with each check failing only its message', async () => {
    const store = await PostgresStore.open({ connectionString: db.url, schema: 'batch_test' });
    try {
      const now = Date.now();
      const account = (name: string) =>
        store.createAccount({
          username: name,
          skeleton: name,
          identityKey: randomBytes(32),
          signedDeviceList: randomBytes(8),
          devices: [{ deviceId: 1, signatureKey: randomBytes(32) }],
          now,
        });
      const [a, b, outsider] = await Promise.all([account('a'), account('b'), account('outsider')]);
      const groupId = randomBytes(16);
      const member = (id: number) => ({ accountId: id, deviceId: 1 });
      await store.createGroup(groupId, member(a.id), now);
      const claimRef = randomBytes(32);
      await store.addKeyPackages({
        mailbox: member(b.id),
        oneTime: [{ ref: claimRef, body: randomBytes(20), notAfter: now + 1e9 }],
        maxOneTime: 10,
        now,
      });
      await store.claimKeyPackages({
        target: b.id,
        deviceIds: [1],
        claimer: member(a.id),
        now,
        claimExpiresAt: now + 1e9,
      });
      await store.sequenceCommit({
        sender: member(a.id),
        clientId: randomBytes(16),
        contentHash: randomBytes(32),
        now,
        expiresAt: now + 1e9,
        groupId,
        epoch: 0n,
        commit: randomBytes(50),
        welcome: { body: randomBytes(50), keyPackageRefs: [claimRef] },
        remove: [],
        maxMembers: 10,
      });
      const message = (sender: number, clientId = randomBytes(16), contentHash = randomBytes(32)) => ({
        sender: member(sender),
        clientId,
        contentHash,
        now,
        expiresAt: now + 1e9,
        groupId,
        body: randomBytes(100),
      });
      const resent = message(a.id);
      // All in one tick: one group commit.
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 50 }, () => store.storeMessage(message(a.id))),
        store.storeMessage(resent),
        store.storeMessage({ ...resent }),
        store.storeMessage({ ...resent, contentHash: randomBytes(32) }),
        store.storeMessage(message(outsider.id)),
      ]);
      const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
      assert.ok(values.slice(0, 51).every((v) => v && !v.duplicate && v.deliveries[0]!.fanout.length === 1));
      assert.equal(values[51]!.duplicate, true);
      assert.deepEqual(values[51]!.messageId, values[50]!.messageId);
      const code = (o: PromiseSettledResult<unknown>) =>
        o.status === 'rejected' ? (o.reason as { code?: string }).code : 'accepted';
      assert.equal(code(outcomes[52]!), 'conflict');
      assert.equal(code(outcomes[53]!), 'forbidden');
      // b's mailbox: the Welcome and 51 messages, each once, in order.
      const pending = await store.pendingDeliveries(member(b.id), 0, 1000, now);
      assert.equal(pending.length, 52);
      assert.deepEqual(
        pending.map((p) => p.seq),
        [...pending.map((p) => p.seq)].sort((x, y) => x - y),
      );
      // A resend in a later tick is answered as before.
      const later = await store.storeMessage({ ...resent });
      assert.equal(later.duplicate, true);
      assert.deepEqual(new Uint8Array(later.messageId), values[50]!.messageId);
    } finally {
      await store.close();
    }
  });
});
