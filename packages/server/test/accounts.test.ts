import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  accountDeletionSignatureInput,
  routes,
  signInSignatureInput,
  verifySignedDeviceList,
} from '@ghostproof/api';
import {
  call,
  expectHttpError,
  startServer,
  TestAccount,
  WsClient,
  type Harness,
} from './helpers/harness.js';

const ed = platformPrimitives.ed25519;

describe('accounts and sign-in', () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(() => h.stop());

  it('registers an account, signs its device in, and opens an authenticated session', async () => {
    const alice = await (await TestAccount.create(h.url)).register();
    const token = await alice.signIn();
    assert.equal(token.length, 32);
    const ws = await WsClient.connect(h.url, token);
    await ws.ok('pong', { case: 'ping', value: {} });
    await ws.close();
    const list = await call(h.url, routes.getDeviceList, undefined, {
      token,
      params: { username: alice.username },
    });
    const decoded = await verifySignedDeviceList(list.signedDeviceList, (k, m, sig) => ed.verify(k, m, sig));
    assert.equal(decoded.username, alice.username);
    assert.deepEqual(decoded.identityKey, alice.identity.publicKey);
  });

  it('refuses a taken name and its lookalikes, and reserved names', async () => {
    await (await TestAccount.create(h.url, 'alice.smith')).register();
    for (const name of ['alice.smith', 'ALICE.SMITH', 'a1ice.smith', 'alicesmith', 'al1ce-smlth']) {
      await expectHttpError(
        (await TestAccount.create(h.url, name.toLowerCase())).register(),
        'username-taken',
      );
    }
    await expectHttpError((await TestAccount.create(h.url, 'adm1n')).register(), 'reserved-username');
  });

  it('gives an unauthenticated caller the same answer for no such account and a wrong signature', async () => {
    const bob = await (await TestAccount.create(h.url)).register();
    const ghost = await TestAccount.create(h.url); // never registered
    const wrongKey = await TestAccount.create(h.url, bob.username); // bob's name, other keys
    const noAccount = await expectHttpError(ghost.signIn(), 'unauthenticated');
    const badSignature = await expectHttpError(wrongKey.signIn(), 'unauthenticated');
    const noDevice = await expectHttpError(
      (async () => {
        await bob.addDevice(7);
        return bob.signIn(7);
      })(),
      'unauthenticated',
    );
    for (const e of [badSignature, noDevice]) {
      assert.equal(e.status, noAccount.status);
      assert.equal(e.error.message, noAccount.error.message);
    }
    bob.devices.delete(7);
  });

  it('binds sign-in to this server: a signature for another origin, or a reused challenge, fails', async () => {
    const carol = await (await TestAccount.create(h.url)).register();
    await expectHttpError(carol.signIn(1, 'https://other.example.org'), 'unauthenticated');
    const challenge = await call(h.url, routes.challenge, undefined);
    const device = carol.devices.get(1)!;
    const clientNonce = new Uint8Array(32);
    const signature = await ed.sign(
      device.secretKey,
      signInSignatureInput({
        origin: h.server.origin,
        serverNonce: challenge.serverNonce,
        clientNonce,
        username: carol.username,
        deviceId: 1,
      }),
    );
    const request = {
      username: carol.username,
      deviceId: 1,
      serverNonce: challenge.serverNonce,
      clientNonce,
      signature,
    };
    await call(h.url, routes.signIn, request);
    await expectHttpError(call(h.url, routes.signIn, request), 'unauthenticated');
  });

  it('refuses a session token it never issued, over HTTP and WebSocket', async () => {
    const fake = crypto.getRandomValues(new Uint8Array(32));
    await expectHttpError(
      call(h.url, routes.countKeyPackages, undefined, { token: fake }),
      'unauthenticated',
    );
    const ws = await WsClient.open(h.url);
    await ws.fails('unauthenticated', { case: 'authenticate', value: { sessionToken: fake } });
    assert.equal((await ws.closed).code, 4401);
  });

  it('changes the device list only with sequence + 1 signed by the same identity key', async () => {
    const dave = await (await TestAccount.create(h.url)).register();
    const token = await dave.signIn();
    await dave.addDevice(2);
    await expectHttpError(
      call(h.url, routes.updateDeviceList, { signedDeviceList: await dave.signedList(3n) }, { token }),
      'stale-sequence',
    );
    // Same name and devices, signed by a different identity key.
    const otherIdentity = await TestAccount.create(h.url, dave.username);
    otherIdentity.devices.clear();
    for (const [id, d] of dave.devices) otherIdentity.devices.set(id, d);
    await expectHttpError(
      call(
        h.url,
        routes.updateDeviceList,
        { signedDeviceList: await otherIdentity.signedList(2n) },
        { token },
      ),
      'bad-signature',
    );
    const res = await call(
      h.url,
      routes.updateDeviceList,
      { signedDeviceList: await dave.signedList(2n) },
      { token },
    );
    assert.equal(res.sequence, 2n);
    dave.sequence = 2n;
    const token2 = await dave.signIn(2);
    // Removing device 2 ends its session and its live connection.
    const ws2 = await WsClient.connect(h.url, token2);
    dave.devices.delete(2);
    await call(h.url, routes.updateDeviceList, { signedDeviceList: await dave.signedList(3n) }, { token });
    assert.equal((await ws2.closed).code, 4403);
    await expectHttpError(
      call(h.url, routes.countKeyPackages, undefined, { token: token2 }),
      'unauthenticated',
    );
    // A removed id is never reused for a new device.
    await dave.addDevice(2);
    await expectHttpError(
      call(h.url, routes.updateDeviceList, { signedDeviceList: await dave.signedList(4n) }, { token }),
      'malformed',
    );
    const updates = await h.server.store.accountUpdates(dave.username);
    assert.deepEqual(
      updates.map((u) => u.version),
      [1n, 2n, 3n],
    );
  });

  it('deletes an account with an identity-key signature; the name is never reused', async () => {
    const erin = await (await TestAccount.create(h.url)).register();
    const token = await erin.signIn();
    const kp = await erin.keyPackage();
    await call(h.url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token });
    const input = accountDeletionSignatureInput({
      origin: h.server.origin,
      username: erin.username,
      sequence: 1n,
    });
    const device = erin.devices.get(1)!;
    // The device key is not the identity key: refused.
    await expectHttpError(
      call(h.url, routes.deleteAccount, { signature: await ed.sign(device.secretKey, input) }, { token }),
      'bad-signature',
    );
    await call(
      h.url,
      routes.deleteAccount,
      { signature: await ed.sign(erin.identity.secretKey, input) },
      { token },
    );
    await expectHttpError(call(h.url, routes.countKeyPackages, undefined, { token }), 'unauthenticated');
    const other = await (await TestAccount.create(h.url)).register();
    const otherToken = await other.signIn();
    await expectHttpError(
      call(h.url, routes.claimKeyPackages, { username: erin.username }, { token: otherToken }),
      'not-found',
    );
    await expectHttpError((await TestAccount.create(h.url, erin.username)).register(), 'username-taken');
    const updates = await h.server.store.accountUpdates(erin.username);
    assert.deepEqual(
      updates.map((u) => [u.version, u.signedDeviceList === null]),
      [
        [1n, false],
        [2n, true],
      ],
    );
  });
});

describe('registration limits', () => {
  it('limits registrations per address', async () => {
    const h = await startServer({ rates: { registrationsPerAddress: { limit: 2, windowMs: 3_600_000 } } });
    try {
      await (await TestAccount.create(h.url)).register();
      await (await TestAccount.create(h.url)).register();
      const e = await expectHttpError((await TestAccount.create(h.url)).register(), 'rate-limited');
      assert.equal(e.status, 429);
    } finally {
      await h.stop();
    }
  });

  it('requires a valid, unspent invite code on a private server', async () => {
    const h = await startServer({ invites: { required: true, codes: ['welcome-friends-2026'] } });
    try {
      await expectHttpError((await TestAccount.create(h.url)).register(), 'invite-required');
      await expectHttpError((await TestAccount.create(h.url)).register('not-a-real-code'), 'invite-required');
      await (await TestAccount.create(h.url)).register('welcome-friends-2026');
      await expectHttpError(
        (await TestAccount.create(h.url)).register('welcome-friends-2026'),
        'invite-required',
      );
      const code = await h.server.createInvite(1);
      await (await TestAccount.create(h.url)).register(code);
    } finally {
      await h.stop();
    }
  });
});
