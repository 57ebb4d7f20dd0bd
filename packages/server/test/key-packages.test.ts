import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { routes } from '@ghostproof/api';
import { call, expectHttpError, startServer, TestAccount, type Harness } from './helpers/harness.js';

describe('key packages', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({
      rates: {
        claimsPerTarget: { limit: 5, windowMs: 3_600_000 },
        registrationsPerAddress: { limit: 1000, windowMs: 60_000 },
        signInsPerAddress: { limit: 1000, windowMs: 60_000 },
      },
    });
  });
  after(() => h.stop());

  it('claims exactly one per device, one-time first, then the last resort, then rate-limits', async () => {
    const bob = await (await TestAccount.create(h.url)).register();
    const bobToken = await bob.signIn();
    const oneTime = [await bob.keyPackage(), await bob.keyPackage()];
    const lastResort = await bob.keyPackage(1, 0xf00d);
    const count = await call(
      h.url,
      routes.uploadKeyPackages,
      { oneTime: oneTime.map((k) => k.bytes), lastResort: lastResort.bytes },
      { token: bobToken },
    );
    assert.deepEqual([count.oneTime, count.lastResort], [2, true]);

    const alice = await (await TestAccount.create(h.url)).register();
    const token = await alice.signIn();
    const claim = () => call(h.url, routes.claimKeyPackages, { username: bob.username }, { token });
    const first = await claim();
    const second = await claim();
    assert.equal(first.keyPackages.length, 1);
    assert.deepEqual(first.keyPackages[0]!.keyPackage, oneTime[0]!.bytes);
    assert.deepEqual(second.keyPackages[0]!.keyPackage, oneTime[1]!.bytes);
    assert.equal(second.keyPackages[0]!.lastResort, false);
    // Past the one-time packages: the last resort, as often as the limit allows.
    for (let i = 0; i < 3; i++) {
      const res = await claim();
      assert.equal(res.keyPackages[0]!.lastResort, true);
      assert.deepEqual(res.keyPackages[0]!.keyPackage, lastResort.bytes);
    }
    const limited = await expectHttpError(claim(), 'rate-limited');
    assert.equal(limited.status, 429);
    const left = await call(h.url, routes.countKeyPackages, undefined, { token: bobToken });
    assert.deepEqual([left.oneTime, left.lastResort], [0, true]);
  });

  it('reports devices without packages as missing', async () => {
    const carol = await (await TestAccount.create(h.url)).register();
    const dave = await (await TestAccount.create(h.url)).register();
    const token = await dave.signIn();
    const res = await call(
      h.url,
      routes.claimKeyPackages,
      { username: carol.username, deviceIds: [1, 9] },
      { token },
    );
    assert.deepEqual(res.keyPackages, []);
    assert.deepEqual(res.missing, [1, 9]);
    await expectHttpError(
      call(h.url, routes.claimKeyPackages, { username: 'nobody-here' }, { token }),
      'not-found',
    );
  });

  it("refuses packages not signed with the uploading device's key, replayed, or over the per-device cap", async () => {
    const erin = await (await TestAccount.create(h.url)).register();
    const frank = await (await TestAccount.create(h.url)).register();
    const token = await erin.signIn();
    const franks = await frank.keyPackage();
    await expectHttpError(
      call(h.url, routes.uploadKeyPackages, { oneTime: [franks.bytes] }, { token }),
      'forbidden',
    );
    const tampered = (await erin.keyPackage()).bytes.slice();
    tampered[tampered.length - 10]! ^= 1;
    await expectHttpError(
      call(h.url, routes.uploadKeyPackages, { oneTime: [tampered] }, { token }),
      'bad-signature',
    );
    const kp = await erin.keyPackage();
    await call(h.url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token });
    await expectHttpError(
      call(h.url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token }),
      'conflict',
    );
    await expectHttpError(
      call(h.url, routes.uploadKeyPackages, { oneTime: [new Uint8Array([0, 1, 0, 5, 0, 1, 0])] }, { token }),
      'malformed',
    );
  });
});

describe('key package limits', () => {
  it('limits claims per requester and caps one-time packages per device', async () => {
    const h = await startServer({
      limits: { oneTimeKeyPackagesPerDevice: 3 },
      rates: {
        claimsPerRequester: { limit: 2, windowMs: 3_600_000 },
        registrationsPerAddress: { limit: 100, windowMs: 60_000 },
        signInsPerAddress: { limit: 100, windowMs: 60_000 },
      },
    });
    try {
      const target = await (await TestAccount.create(h.url)).register();
      const targetToken = await target.signIn();
      const kps = await Promise.all([1, 2, 3, 4].map(() => target.keyPackage()));
      await expectHttpError(
        call(h.url, routes.uploadKeyPackages, { oneTime: kps.map((k) => k.bytes) }, { token: targetToken }),
        'too-large',
      );
      await call(
        h.url,
        routes.uploadKeyPackages,
        { oneTime: kps.slice(0, 3).map((k) => k.bytes) },
        { token: targetToken },
      );
      const requester = await (await TestAccount.create(h.url)).register();
      const token = await requester.signIn();
      await call(h.url, routes.claimKeyPackages, { username: target.username }, { token });
      await call(h.url, routes.claimKeyPackages, { username: target.username }, { token });
      await expectHttpError(
        call(h.url, routes.claimKeyPackages, { username: target.username }, { token }),
        'rate-limited',
      );
    } finally {
      await h.stop();
    }
  });
});
