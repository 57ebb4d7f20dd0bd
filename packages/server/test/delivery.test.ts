// The delivery service's gateway: frames, authentication, limits, restarts and expiry. What
// the store must do for delivery (ordering, acks, idempotency, epochs, Welcome routing) is in
// the store contract (contract/), which runs those cases on every adapter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ContentType, encodeClientFrame } from '@ghostproof/api';
import {
  pairInGroup,
  privateMessage,
  randomId,
  startServer,
  TestAccount,
  welcomeFor,
  WsClient,
  type Harness,
} from './helpers/harness.js';

describe('delivery service', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(() => h.stop());

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
