// The delivery service's end-to-end cases, on a server whose store is the adapter under
// test: what a device sees over WebSocket and HTTP when the store keeps (or breaks) its rules.
// Part of the store contract (store-contract.ts), so each adapter runs every case.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContentType, DeliveryKind, routes } from '@ghostproof/api';
import type { Store } from '../../src/storage/store.js';
import {
  call,
  pairInGroup,
  privateMessage,
  randomId,
  startServer,
  TestAccount,
  welcomeFor,
  WsClient,
  type Harness,
} from '../helpers/harness.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function describeDeliveryThroughServer(open: () => Promise<Store>): void {
  describe('through the server', () => {
    let h: Harness;
    before(async () => {
      h = await startServer({ store: await open() });
    });
    after(() => h.stop());

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

    it('registers a new group at epoch 0 with its creator, and never reuses the id', async () => {
      const a = await (await TestAccount.create(h.url)).register();
      const ws = await WsClient.connect(h.url, await a.signIn());
      const groupId = randomId();
      const list = await ws.ok('routingList', { case: 'createGroup', value: { groupId } });
      assert.equal(list.epoch, 0n);
      assert.deepEqual(
        list.members.map((m) => [m.username, m.deviceId]),
        [[a.username, 1]],
      );
      await ws.fails('conflict', { case: 'createGroup', value: { groupId } });
      await ws.close();
    });

    it('delivers live, stores for an offline device, and deletes only after the ack', async () => {
      const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
      const m1 = privateMessage(groupId, epoch);
      const accepted = await wsA.ok('accepted', {
        case: 'sendMessage',
        value: { clientId: randomId(), message: m1 },
      });
      assert.equal(accepted.duplicate, false);
      // b was offline: the Welcome and the message wait in its mailbox.
      const wsB = await WsClient.connect(h.url, tokenB);
      const [welcome, message] = await wsB.waitForDeliveries(2);
      assert.equal(welcome!.kind, DeliveryKind.WELCOME);
      assert.equal(message!.kind, DeliveryKind.MESSAGE);
      assert.deepEqual(message!.message, m1);
      assert.deepEqual(message!.messageId, accepted.messageId);
      // Live while connected.
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
      await wsB.waitForDeliveries(1); // the Welcome
      await wsB.ack([wsB.deliveries[0]!.messageId]);
      await wsA.ok('accepted', {
        case: 'sendMessage',
        value: { clientId: randomId(), message: privateMessage(groupId, epoch) },
      });
      const [first] = (await wsB.waitForDeliveries(2)).slice(1);
      await wsB.close(); // no ack
      const wsB2 = await WsClient.connect(h.url, tokenB);
      const [redelivered] = await wsB2.waitForDeliveries(1);
      assert.deepEqual(redelivered!.messageId, first!.messageId);
      assert.deepEqual(redelivered!.message, first!.message);
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
      // The same id with other content is a conflict, not a second message.
      await wsA.fails('conflict', {
        case: 'sendMessage',
        value: { clientId, message: privateMessage(groupId, epoch) },
      });
      const wsB = await WsClient.connect(h.url, tokenB);
      await wsB.expectNoMoreDeliveries(2, 300); // the Welcome and one message
      assert.equal(wsB.deliveries.filter((d) => d.kind === DeliveryKind.MESSAGE).length, 1);
      await wsB.close();
      await wsA.close();
    });

    it('sequences commits by epoch compare-and-set: a stale commit gets stale-epoch, a resend is answered as before', async () => {
      const { tokenB, wsA, groupId } = await pairInGroup(h.url); // at epoch 1
      const wsB = await WsClient.connect(h.url, tokenB);
      const commitB = { clientId: randomId(), commit: privateMessage(groupId, 1n, ContentType.Commit) };
      const commitA = { clientId: randomId(), commit: privateMessage(groupId, 1n, ContentType.Commit) };
      const acceptedB = await wsB.ok('accepted', { case: 'sendCommit', value: commitB });
      assert.equal(acceptedB.epoch, 2n);
      // a raced b for epoch 1 and lost.
      await wsA.fails('stale-epoch', { case: 'sendCommit', value: commitA });
      // b resends its commit (it never saw the answer): same answer, not sequenced again.
      const resent = await wsB.ok('accepted', { case: 'sendCommit', value: commitB });
      assert.equal(resent.duplicate, true);
      assert.equal(resent.epoch, 2n);
      assert.deepEqual(resent.messageId, acceptedB.messageId);
      const list = await wsA.ok('routingList', { case: 'getRoutingList', value: { groupId } });
      assert.equal(list.epoch, 2n);
      // a got b's commit exactly once.
      await wsA.expectNoMoreDeliveries(1);
      assert.equal(wsA.deliveries[0]!.kind, DeliveryKind.COMMIT);
      // A commit for a future epoch is stale too.
      await wsA.fails('stale-epoch', {
        case: 'sendCommit',
        value: { clientId: randomId(), commit: privateMessage(groupId, 9n, ContentType.Commit) },
      });
      await wsA.close();
      await wsB.close();
    });

    it('delivers a Welcome to exactly the mailboxes its KeyPackageRefs name, and updates the routing list', async () => {
      const a = await (await TestAccount.create(h.url)).register();
      const b = await (await TestAccount.create(h.url)).register();
      const c = await (await TestAccount.create(h.url)).register();
      const d = await (await TestAccount.create(h.url)).register();
      const tokenA = await a.signIn();
      const tokenB1 = await b.signIn();
      const tokenB2 = await b.linkDevice(2, tokenB1);
      const tokenC = await c.signIn();
      const tokenD = await d.signIn();
      const kpB1 = await b.keyPackage(1);
      const kpB2 = await b.keyPackage(2);
      const kpC = await c.keyPackage();
      const kpD = await d.keyPackage();
      await call(h.url, routes.uploadKeyPackages, { oneTime: [kpB1.bytes] }, { token: tokenB1 });
      await call(h.url, routes.uploadKeyPackages, { oneTime: [kpB2.bytes] }, { token: tokenB2 });
      await call(h.url, routes.uploadKeyPackages, { oneTime: [kpC.bytes] }, { token: tokenC });
      await call(h.url, routes.uploadKeyPackages, { oneTime: [kpD.bytes] }, { token: tokenD });
      const claimB = await call(h.url, routes.claimKeyPackages, { username: b.username }, { token: tokenA });
      assert.equal(claimB.keyPackages.length, 2);
      await call(h.url, routes.claimKeyPackages, { username: c.username }, { token: tokenA });
      const wsA = await WsClient.connect(h.url, tokenA);
      const groupId = randomId();
      await wsA.ok('routingList', { case: 'createGroup', value: { groupId } });
      // d's package was never claimed: the whole commit is refused and nothing changes.
      await wsA.fails('unknown-key-package', {
        case: 'sendCommit',
        value: {
          clientId: randomId(),
          commit: privateMessage(groupId, 0n, ContentType.Commit),
          welcome: welcomeFor([kpB1.ref, kpD.ref]),
        },
      });
      // Adds b's device 1 and c, not b's device 2.
      const welcome = welcomeFor([kpB1.ref, kpC.ref]);
      await wsA.ok('accepted', {
        case: 'sendCommit',
        value: { clientId: randomId(), commit: privateMessage(groupId, 0n, ContentType.Commit), welcome },
      });
      const [wsB1, wsB2, wsC, wsD] = await Promise.all(
        [tokenB1, tokenB2, tokenC, tokenD].map((t) => WsClient.connect(h.url, t)),
      );
      for (const ws of [wsB1!, wsC!]) {
        const [got] = await ws.waitForDeliveries(1);
        assert.equal(got!.kind, DeliveryKind.WELCOME);
        assert.deepEqual(got!.message, welcome);
      }
      await wsB1!.expectNoMoreDeliveries(1);
      await wsB2!.expectNoMoreDeliveries(0);
      await wsD!.expectNoMoreDeliveries(0);
      const list = await wsC!.ok('routingList', { case: 'getRoutingList', value: { groupId } });
      assert.deepEqual(
        list.members.map((m) => `${m.username}/${m.deviceId}`).sort(),
        [`${a.username}/1`, `${b.username}/1`, `${c.username}/1`].sort(),
      );
      // Removing c by commit: c receives that commit, and nothing after it.
      await wsA.ok('accepted', {
        case: 'sendCommit',
        value: {
          clientId: randomId(),
          commit: privateMessage(groupId, 1n, ContentType.Commit),
          remove: [{ username: c.username, deviceId: 1 }],
        },
      });
      const [, removal] = await wsC!.waitForDeliveries(2);
      assert.equal(removal!.kind, DeliveryKind.COMMIT);
      await wsA.ok('accepted', {
        case: 'sendMessage',
        value: { clientId: randomId(), message: privateMessage(groupId, 2n) },
      });
      await wsB1!.waitForDeliveries(3);
      await wsC!.expectNoMoreDeliveries(2);
      await wsC!.fails('forbidden', { case: 'getRoutingList', value: { groupId } });
      await Promise.all([wsA, wsB1!, wsB2!, wsC!, wsD!].map((ws) => ws.close()));
    });

    it("gives no access to another device's mailbox or to a routing list one is not on", async () => {
      const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
      const mallory = await (await TestAccount.create(h.url)).register();
      const wsM = await WsClient.connect(h.url, await mallory.signIn());
      await wsM.fails('forbidden', { case: 'getRoutingList', value: { groupId } });
      await wsM.fails('forbidden', { case: 'getRoutingList', value: { groupId: randomId() } });
      await wsM.fails('forbidden', {
        case: 'sendMessage',
        value: { clientId: randomId(), message: privateMessage(groupId, epoch) },
      });
      await wsM.fails('forbidden', {
        case: 'sendCommit',
        value: { clientId: randomId(), commit: privateMessage(groupId, epoch, ContentType.Commit) },
      });
      const sent = await wsA.ok('accepted', {
        case: 'sendMessage',
        value: { clientId: randomId(), message: privateMessage(groupId, epoch) },
      });
      // Acknowledging b's message from another account deletes nothing.
      assert.equal(await wsM.ack([sent.messageId]), 0);
      const wsB = await WsClient.connect(h.url, tokenB);
      const got = await wsB.waitForDeliveries(2);
      assert.ok(got.some((d) => hex(d.messageId) === hex(sent.messageId)));
      await Promise.all([wsA.close(), wsB.close(), wsM.close()]);
    });

    it('accepts exactly one of many commits racing for one epoch', async () => {
      const { tokenB, wsA, groupId } = await pairInGroup(h.url);
      const wsB = await WsClient.connect(h.url, tokenB);
      const commit = () => ({
        clientId: randomId(),
        commit: privateMessage(groupId, 1n, ContentType.Commit),
      });
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
  });
}
