// Two server nodes in one process on random ports, sharing a fresh database on the local
// PostgreSQL and the local NATS (on a subject prefix of their own): a device connected to
// one node gets live what was sent through the other, and the epoch compare-and-set holds
// across nodes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ContentType, DeliveryKind, routes, signInSignatureInput } from '@ghostproof/api';
import { connect as connectNats, type NatsConnection } from '@nats-io/transport-node';
import { platformPrimitives } from '@ghostproof/crypto';
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
import { NATS_URL } from '@ghostproof/testkit';

describe('two nodes on PostgreSQL and NATS', () => {
  let db: TestDatabase;
  let nodeA: Harness;
  let nodeB: Harness;
  /** Notices seen on this test's subjects, by a NATS client of its own. */
  let watcher: NatsConnection;
  let noticesSeen = 0;
  before(async () => {
    db = await createTestDatabase();
    // As `serve --bus URL --bus-prefix NAME` runs it: each node connects its own bus.
    const bus = { bus: NATS_URL, busSubjectPrefix: `ghostproof-test-${randomBytes(6).toString('hex')}` };
    watcher = await connectNats({ servers: NATS_URL });
    watcher.subscribe(`${bus.busSubjectPrefix}.>`, {
      callback: () => {
        noticesSeen++;
      },
    });
    await watcher.flush();
    // The shared key transparency log has its own test (kt-shared.test.ts); off here, so that
    // registering through node B does not wait for node A's next tick.
    nodeA = await startServer({ store: db.url, ...bus, kt: { enabled: false } });
    nodeB = await startServer({ store: db.url, ...bus, kt: { enabled: false } });
  });
  after(async () => {
    await nodeA.stop();
    await nodeB.stop();
    await watcher.close();
    await db.drop();
  });

  /** alice on node A created a group and added bob, who is on node B, by Welcome. */
  async function aliceAndBobInGroup() {
    const { tokenB, wsA, groupId } = await pairInGroup(nodeA.url, nodeB.url);
    const wsB = await WsClient.connect(nodeB.url, tokenB);
    const [welcome] = await wsB.waitForDeliveries(1);
    assert.equal(welcome!.kind, DeliveryKind.WELCOME);
    await wsB.ack([welcome!.messageId]);
    return { wsA, wsB, groupId };
  }

  it('brings a message sent through node A live to a device connected to node B', async () => {
    const { wsA, wsB, groupId } = await aliceAndBobInGroup();
    for (let i = 0; i < 3; i++) {
      const message = privateMessage(groupId, 1n);
      const accepted = await wsA.ok('accepted', {
        case: 'sendMessage',
        value: { clientId: randomId(), message },
      });
      // bob's connection reads storage only when it opens: this one came over NATS.
      const live = (await wsB.waitForDeliveries(2 + i))[1 + i]!;
      assert.deepEqual(live.messageId, accepted.messageId);
      assert.deepEqual(live.message, message);
    }
    await wsB.expectNoMoreDeliveries(4, 200);
    // They went over the deployment's own subjects (--bus-prefix), not the default ones.
    assert.ok(noticesSeen >= 3, `notices on the test's subjects: ${noticesSeen}`);
    await wsA.close();
    await wsB.close();
  });

  it('accepts exactly one of two commits for one epoch sent to the two nodes; the other gets stale-epoch', async () => {
    const { wsA, wsB, groupId } = await aliceAndBobInGroup();
    const commit = () => ({ clientId: randomId(), commit: privateMessage(groupId, 1n, ContentType.Commit) });
    const outcomes = await Promise.allSettled([
      wsA.ok('accepted', { case: 'sendCommit', value: commit() }),
      wsB.ok('accepted', { case: 'sendCommit', value: commit() }),
    ]);
    const accepted = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(accepted.length, 1);
    assert.equal(refused.length, 1);
    assert.equal((refused[0]!.reason as { code?: string }).code, 'stale-epoch');
    // Both nodes, and so both members, now see epoch 2.
    for (const ws of [wsA, wsB]) {
      const list = await ws.ok('routingList', { case: 'getRoutingList', value: { groupId } });
      assert.equal(list.epoch, 2n);
    }
    // The loser gets the winner's commit, live across nodes.
    const loser = outcomes[0].status === 'rejected' ? wsA : wsB;
    const [delivered] = await loser.waitForDeliveries(loser === wsA ? 1 : 2);
    assert.ok(delivered);
    assert.equal(loser.deliveries.at(-1)!.kind, DeliveryKind.COMMIT);
    await wsA.close();
    await wsB.close();
  });
});

describe('sign-in across two nodes', () => {
  let db: TestDatabase;
  let nodes: Harness[];
  const origin = 'https://chat.example';
  before(async () => {
    db = await createTestDatabase();
    // Behind one address, as with a load balancer: one origin for both nodes.
    nodes = [];
    for (let i = 0; i < 2; i++)
      nodes.push(await startServer({ store: db.url, origin, kt: { enabled: false } }));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await db.drop();
  });

  it('answers a challenge from one node at the other, once', async () => {
    const [a, b] = nodes as [Harness, Harness];
    const alice = await (await TestAccount.create(a.url)).register();
    const token = await alice.signIn(1, origin, b.url);
    // The session works on both nodes.
    for (const node of [a, b]) await call(node.url, routes.countKeyPackages, undefined, { token });
    // A challenge is single use on every node: a replayed sign-in (same nonce) fails on both.
    const challenge = await call(a.url, routes.challenge, undefined);
    const clientNonce = randomBytes(32);
    const signIn = {
      username: alice.username,
      deviceId: 1,
      serverNonce: challenge.serverNonce,
      clientNonce,
      signature: await platformPrimitives.ed25519.sign(
        alice.devices.get(1)!.secretKey,
        signInSignatureInput({
          origin,
          serverNonce: challenge.serverNonce,
          clientNonce,
          username: alice.username,
          deviceId: 1,
        }),
      ),
    };
    await call(b.url, routes.signIn, signIn);
    for (const node of [a, b]) {
      await assert.rejects(call(node.url, routes.signIn, signIn), /unauthenticated/);
    }
  });
});
