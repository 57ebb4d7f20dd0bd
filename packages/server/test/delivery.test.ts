import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContentType, DeliveryKind, encodeClientFrame, routes } from '@ghostproof/api';
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
} from './helpers/harness.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('delivery service', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(() => h.stop());

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

  it('answers malformed frames with typed errors and keeps the connection usable', async () => {
    const { wsA, groupId, epoch } = await pairInGroup(h.url);
    wsA.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    wsA.sendRaw('a text frame');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      wsA.unsolicited.map((r) => (r.case === 'error' ? r.value.code : r.case)),
      ['malformed', 'malformed'],
    );
    await wsA.fails('malformed', {
      case: 'sendMessage',
      value: { clientId: randomId(8), message: new Uint8Array(3) },
    });
    const truncated = privateMessage(groupId, epoch).subarray(0, 40);
    await wsA.fails('malformed', {
      case: 'sendMessage',
      value: { clientId: randomId(), message: truncated },
    });
    await wsA.fails('unsupported', {
      case: 'sendMessage',
      value: { clientId: randomId(), message: new Uint8Array(30) },
    });
    await wsA.fails('malformed', {
      case: 'sendMessage',
      value: { clientId: randomId(), message: privateMessage(groupId, epoch, ContentType.Commit) },
    });
    // A PublicMessage handshake is refused: Ghostproof sends handshakes as PrivateMessage.
    // version 1, wire format 1, group id, epoch 1, sender member 0, no aad, content type commit, body
    const publicCommit = new Uint8Array([
      0,
      1,
      0,
      1,
      groupId.length,
      ...groupId,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      1,
      0,
      0,
      0,
      0,
      0,
      3,
      ...randomId(64),
    ]);
    await wsA.fails('unsupported', {
      case: 'sendCommit',
      value: { clientId: randomId(), commit: publicCommit },
    });
    await wsA.fails('malformed', {
      case: 'sendCommit',
      value: {
        clientId: randomId(),
        commit: privateMessage(groupId, epoch, ContentType.Commit),
        welcome: welcomeFor([randomId(32)]).subarray(0, 20),
      },
    });
    // Still usable.
    await wsA.ok('pong', { case: 'ping', value: {} });
    await wsA.ok('accepted', {
      case: 'sendMessage',
      value: { clientId: randomId(), message: privateMessage(groupId, epoch) },
    });
    await wsA.close();
  });

  it('refuses requests before authentication and replaces an older connection of the same device', async () => {
    const a = await (await TestAccount.create(h.url)).register();
    const token = await a.signIn();
    const anon = await WsClient.open(h.url);
    await anon.fails('unauthenticated', { case: 'createGroup', value: { groupId: randomId() } });
    await anon.close();
    const first = await WsClient.connect(h.url, token);
    const second = await WsClient.connect(h.url, token);
    assert.equal((await first.closed).code, 4000);
    await second.ok('pong', { case: 'ping', value: {} });
    await second.close();
  });
});

describe('delivery limits and durability', () => {
  it('rejects an oversize frame before anything is stored, and oversize messages with too-large', async () => {
    const h = await startServer({
      limits: {
        applicationMessageBytes: 1024,
        handshakeMessageBytes: 8 * 1024,
        welcomeBytes: 8 * 1024,
        frameBytes: 20 * 1024,
      },
    });
    try {
      const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
      // Over the application limit but inside the frame: a typed error, connection usable.
      await wsA.fails('too-large', {
        case: 'sendMessage',
        value: {
          clientId: randomId(),
          message: privateMessage(groupId, epoch, ContentType.Application, { size: 2000 }),
        },
      });
      // Over the frame limit: the connection is closed (1009) and nothing is stored.
      const huge = encodeClientFrame(
        {
          requestId: 99,
          body: {
            case: 'sendMessage',
            value: {
              clientId: randomId(),
              message: privateMessage(groupId, epoch, ContentType.Proposal, { size: 30 * 1024 }),
            },
          },
        },
        { ...(await import('@ghostproof/api')).defaultLimits },
      );
      wsA.sendRaw(huge);
      assert.equal((await wsA.closed).code, 1009);
      const wsB = await WsClient.connect(h.url, tokenB);
      await wsB.expectNoMoreDeliveries(1, 300); // only the Welcome
      await wsB.close();
    } finally {
      await h.stop();
    }
  });

  it('keeps a message for an offline device across a server restart', async () => {
    const h = await startServer();
    try {
      const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
      const message = privateMessage(groupId, epoch);
      await wsA.ok('accepted', { case: 'sendMessage', value: { clientId: randomId(), message } });
      await wsA.close();
      await h.restart();
      const wsB = await WsClient.connect(h.url, tokenB);
      const [, got] = await wsB.waitForDeliveries(2);
      assert.deepEqual(got!.message, message);
      await wsB.close();
    } finally {
      await h.stop();
    }
  });

  it('expires undelivered messages after the configured time', async () => {
    let now = Date.now();
    const h = await startServer({ clock: () => now, messageTtlMs: 60_000 });
    try {
      const { tokenB, wsA, groupId, epoch } = await pairInGroup(h.url);
      await wsA.ok('accepted', {
        case: 'sendMessage',
        value: { clientId: randomId(), message: privateMessage(groupId, epoch) },
      });
      now += 61_000;
      await h.server.sweep();
      // Sessions last longer than messages: b can still connect, and finds nothing.
      const wsB = await WsClient.connect(h.url, tokenB);
      await wsB.expectNoMoreDeliveries(0);
      await Promise.all([wsA.close(), wsB.close()]);
    } finally {
      await h.stop();
    }
  });
});
