// The contract of the `Store` interface (src/storage/store.ts), as one suite that every
// adapter runs: `describeStoreContract('SQLite', open)`. Each rule is checked through the
// interface only, so a rule an adapter gets wrong fails here whatever SQL it uses: the
// compare-and-set checks (device-list sequence, group epoch), idempotency by client id, the
// one-time key-package cap, claims and the Welcome routing they allow, delivery, ack and
// redelivery, routing lists, commits' removal checks, attachments and the expiry purge. The
// second half runs the delivery service's end-to-end cases on a server over the same adapter.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Store } from '../../src/storage/store.js';
import { describeDeliveryThroughServer } from './delivery-through-server.js';
import {
  bytes,
  claimedRef,
  commit,
  DAY,
  groupWith,
  hex,
  keyPackage,
  LATER,
  mailbox,
  message,
  newAccount,
  NOW,
  outcomeCode,
  rejectsWith,
  uniqueName,
} from './fixtures.js';

/** Opens a new, empty store of the adapter under test. */
export type OpenStore = () => Promise<Store>;

export function describeStoreContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    const opened: Store[] = [];
    let shared: Promise<Store> | undefined;
    /** One store for the cases that need no empty store of their own. */
    const store = () => (shared ??= fresh());
    const fresh = async () => {
      const s = await open();
      opened.push(s);
      return s;
    };
    after(async () => {
      for (const s of opened) await s.close();
    });

    describeAccounts(store);
    describeSessions(store);
    describeKeyPackages(store);
    describeGroups(store);
    describeDelivery(store, fresh);
    describeAttachmentsAndPurge(fresh);
    describeDeliveryThroughServer(fresh);
  });
}

function describeAccounts(store: () => Promise<Store>): void {
  describe('accounts', () => {
    it('creates an account at sequence 1, not yet logged, and finds it by name and by id', async () => {
      const s = await store();
      const account = await newAccount(s, { deviceIds: [1, 3] });
      assert.equal(account.sequence, 1n);
      assert.equal(account.loggedSequence, 0n);
      assert.equal(account.maxDeviceId, 3);
      assert.deepEqual(
        account.devices.map((d) => d.deviceId),
        [1, 3],
      );
      assert.equal(account.createdAt, NOW);
      const byName = await s.accountByUsername(account.username);
      const byId = await s.accountById(account.id);
      for (const found of [byName!, byId!]) {
        assert.equal(found.id, account.id);
        assert.equal(found.username, account.username);
        assert.deepEqual(bytes(found.identityKey), bytes(account.identityKey));
        assert.deepEqual(bytes(found.signedDeviceList), bytes(account.signedDeviceList));
        assert.deepEqual(
          found.devices.map((d) => [d.deviceId, hex(d.signatureKey)]),
          account.devices.map((d) => [d.deviceId, hex(d.signatureKey)]),
        );
      }
      assert.equal(await s.accountByUsername(uniqueName('nobody')), undefined);
      assert.equal(await s.accountById(987_654_321), undefined);
    });

    it('refuses a taken name, and a deleted one forever', async () => {
      const s = await store();
      const account = await newAccount(s);
      await rejectsWith(newAccount(s, { username: account.username }), 'username-taken');
      await s.deleteAccount(account.id, NOW);
      assert.equal(await s.accountByUsername(account.username), undefined);
      assert.equal(await s.accountById(account.id), undefined);
      await rejectsWith(newAccount(s, { username: account.username }), 'username-taken');
      // Deleting what is gone already changes nothing.
      await s.deleteAccount(account.id, NOW);
    });

    it('spends invites: each use once, unknown, spent or expired ones refused', async () => {
      const s = await store();
      const code = randomBytes(32);
      const expired = randomBytes(32);
      await s.addInvites([code], 2, LATER);
      await s.addInvites([expired], 5, NOW - 1);
      await newAccount(s, { inviteHash: code });
      await newAccount(s, { inviteHash: code });
      await rejectsWith(newAccount(s, { inviteHash: code }), 'invite-required');
      await rejectsWith(newAccount(s, { inviteHash: randomBytes(32) }), 'invite-required');
      await rejectsWith(newAccount(s, { inviteHash: expired }), 'invite-required');
      // Adding a code again sets its uses anew.
      await s.addInvites([code], 1, LATER);
      await newAccount(s, { inviteHash: code });
    });

    it('applies a device list by compare-and-set on the sequence', async () => {
      const s = await store();
      const account = await newAccount(s, { deviceIds: [1, 2] });
      const list = randomBytes(40);
      const devices = [account.devices[0]!, { deviceId: 5, signatureKey: randomBytes(32) }];
      await rejectsWith(
        s.updateDeviceList({
          accountId: account.id,
          expectedSequence: 2n,
          sequence: 3n,
          signedDeviceList: list,
          devices,
        }),
        'stale-sequence',
      );
      const updated = await s.updateDeviceList({
        accountId: account.id,
        expectedSequence: 1n,
        sequence: 2n,
        signedDeviceList: list,
        devices,
      });
      assert.equal(updated.sequence, 2n);
      assert.deepEqual(bytes(updated.signedDeviceList), bytes(list));
      assert.deepEqual(
        updated.devices.map((d) => d.deviceId),
        [1, 5],
      );
      assert.equal(updated.maxDeviceId, 5);
      // The same change again is stale: its expected sequence is no longer the stored one.
      await rejectsWith(
        s.updateDeviceList({
          accountId: account.id,
          expectedSequence: 1n,
          sequence: 2n,
          signedDeviceList: list,
          devices,
        }),
        'stale-sequence',
      );
      // The highest id ever used stays, even once that device is gone.
      const shrunk = await s.updateDeviceList({
        accountId: account.id,
        expectedSequence: 2n,
        sequence: 3n,
        signedDeviceList: randomBytes(40),
        devices: [account.devices[0]!],
      });
      assert.equal(shrunk.maxDeviceId, 5);
      assert.equal((await s.accountById(account.id))!.sequence, 3n);
      await rejectsWith(
        s.updateDeviceList({
          accountId: 987_654_321,
          expectedSequence: 1n,
          sequence: 2n,
          signedDeviceList: list,
          devices,
        }),
        'not-found',
      );
    });

    it("removes a dropped device's mailbox, key packages, sessions and routing-list places", async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s, { deviceIds: [1, 2] });
      const token = randomBytes(32);
      await s.createSession(token, mailbox(bob, 2), LATER);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob, 1), mailbox(bob, 2)]);
      await s.storeMessage(message(mailbox(alice), groupId));
      await s.addKeyPackages({ mailbox: mailbox(bob, 2), oneTime: [keyPackage()], maxOneTime: 10, now: NOW });
      assert.equal((await s.pendingDeliveries(mailbox(bob, 2), 0, 100, NOW)).length, 2);
      await s.updateDeviceList({
        accountId: bob.id,
        expectedSequence: 1n,
        sequence: 2n,
        signedDeviceList: randomBytes(40),
        devices: [bob.devices[0]!],
      });
      assert.equal(await s.sessionByTokenHash(token, NOW), undefined);
      assert.deepEqual(await s.pendingDeliveries(mailbox(bob, 2), 0, 100, NOW), []);
      assert.deepEqual(await s.countKeyPackages(mailbox(bob, 2), NOW), { oneTime: 0, lastResort: false });
      const list = await s.routingList(groupId, mailbox(alice));
      assert.deepEqual(
        list.members.map((m) => `${m.username}/${m.deviceId}`).sort(),
        [`${alice.username}/1`, `${bob.username}/1`].sort(),
      );
      // Device 1 keeps what it had.
      assert.equal((await s.pendingDeliveries(mailbox(bob, 1), 0, 100, NOW)).length, 2);
    });

    it('keeps accounts awaiting the log until their newest sequence is marked logged', async () => {
      const s = await store();
      const account = await newAccount(s);
      const awaiting = async () => (await s.accountsAwaitingLog()).map((a) => a.id);
      assert.ok((await awaiting()).includes(account.id));
      await s.markLogged(account.id, 1n);
      assert.ok(!(await awaiting()).includes(account.id));
      assert.equal((await s.accountById(account.id))!.loggedSequence, 1n);
      await s.updateDeviceList({
        accountId: account.id,
        expectedSequence: 1n,
        sequence: 2n,
        signedDeviceList: randomBytes(40),
        devices: account.devices,
      });
      assert.ok((await awaiting()).includes(account.id));
      await s.markLogged(account.id, 2n);
      // Marking an older sequence never moves it back.
      await s.markLogged(account.id, 1n);
      assert.equal((await s.accountById(account.id))!.loggedSequence, 2n);
      assert.ok(!(await awaiting()).includes(account.id));
    });

    it('records account updates once per version, in order, and marks them logged by position', async () => {
      const s = await store();
      const username = uniqueName();
      const first = { username, version: 1n, signedDeviceList: randomBytes(30), at: NOW };
      const deleted = { username, version: 2n, signedDeviceList: null, at: NOW + 1 };
      await s.appendAccountUpdate(first);
      await s.appendAccountUpdate({ ...first, signedDeviceList: randomBytes(30) }); // ignored
      await s.appendAccountUpdate(deleted);
      const updates = await s.accountUpdates(username);
      assert.deepEqual(
        updates.map((u) => [u.username, u.version, u.signedDeviceList && hex(u.signedDeviceList), u.at]),
        [
          [username, 1n, hex(first.signedDeviceList), NOW],
          [username, 2n, null, NOW + 1],
        ],
      );
      const pending = (await s.accountUpdatesNotLogged(10_000)).filter((u) => u.username === username);
      assert.equal(pending.length, 2);
      assert.ok(pending[0]!.seq < pending[1]!.seq);
      await s.markUpdatesLogged([pending[0]!.seq]);
      await s.markUpdatesLogged([]);
      const left = (await s.accountUpdatesNotLogged(10_000)).filter((u) => u.username === username);
      assert.deepEqual(
        left.map((u) => u.version),
        [2n],
      );
      assert.equal((await s.accountUpdatesNotLogged(1)).length, 1);
      assert.deepEqual(await s.accountUpdates(uniqueName('nobody')), []);
    });
  });
}

function describeSessions(store: () => Promise<Store>): void {
  describe('challenges and sessions', () => {
    it('answers a challenge at most once', async () => {
      const s = await store();
      const nonce = randomBytes(32);
      await s.addChallenge(nonce, NOW + 60_000);
      assert.equal(await s.takeChallenge(nonce), NOW + 60_000);
      assert.equal(await s.takeChallenge(nonce), undefined);
      assert.equal(await s.takeChallenge(randomBytes(32)), undefined);
    });

    it('finds a session by its token hash until it expires', async () => {
      const s = await store();
      const account = await newAccount(s);
      const token = randomBytes(32);
      await s.createSession(token, mailbox(account), NOW + 1000);
      assert.deepEqual(await s.sessionByTokenHash(token, NOW), {
        accountId: account.id,
        deviceId: 1,
        expiresAt: NOW + 1000,
        username: account.username,
      });
      assert.equal(await s.sessionByTokenHash(token, NOW + 1000), undefined);
      assert.equal(await s.sessionByTokenHash(randomBytes(32), NOW), undefined);
      // A deleted account's sessions end with it.
      const other = randomBytes(32);
      await s.createSession(other, mailbox(account), LATER);
      await s.deleteAccount(account.id, NOW);
      assert.equal(await s.sessionByTokenHash(other, NOW), undefined);
    });
  });
}

function describeKeyPackages(store: () => Promise<Store>): void {
  describe('key packages', () => {
    it('counts live one-time packages and the last resort', async () => {
      const s = await store();
      const account = await newAccount(s);
      const count = await s.addKeyPackages({
        mailbox: mailbox(account),
        oneTime: [keyPackage(), keyPackage(), keyPackage(NOW + 10)],
        lastResort: keyPackage(),
        maxOneTime: 10,
        now: NOW,
      });
      assert.deepEqual(count, { oneTime: 3, lastResort: true });
      assert.deepEqual(await s.countKeyPackages(mailbox(account), NOW + 10), {
        oneTime: 2,
        lastResort: true,
      });
      assert.deepEqual(await s.countKeyPackages(mailbox(account, 2), NOW), { oneTime: 0, lastResort: false });
    });

    it('caps one-time packages per device: an upload past the cap stores none of it', async () => {
      const s = await store();
      const account = await newAccount(s, { deviceIds: [1, 2] });
      const add = (deviceId: number, n: number, now = NOW) =>
        s.addKeyPackages({
          mailbox: mailbox(account, deviceId),
          oneTime: Array.from({ length: n }, () => keyPackage()),
          maxOneTime: 3,
          now,
        });
      await rejectsWith(add(1, 4), 'too-large');
      assert.deepEqual(await s.countKeyPackages(mailbox(account), NOW), { oneTime: 0, lastResort: false });
      assert.equal((await add(1, 2)).oneTime, 2);
      await rejectsWith(add(1, 2), 'too-large');
      assert.equal((await add(1, 1)).oneTime, 3);
      // The cap is per device, and the last resort is not counted.
      assert.equal((await add(2, 3)).oneTime, 3);
      const withLastResort = await s.addKeyPackages({
        mailbox: mailbox(account),
        oneTime: [],
        lastResort: keyPackage(),
        maxOneTime: 3,
        now: NOW,
      });
      assert.deepEqual(withLastResort, { oneTime: 3, lastResort: true });
      // Expired packages do not count.
      const later = await newAccount(s);
      await s.addKeyPackages({
        mailbox: mailbox(later),
        oneTime: [keyPackage(NOW + 10), keyPackage(NOW + 10), keyPackage(NOW + 10)],
        maxOneTime: 3,
        now: NOW,
      });
      assert.equal(
        (
          await s.addKeyPackages({
            mailbox: mailbox(later),
            oneTime: [keyPackage(), keyPackage(), keyPackage()],
            maxOneTime: 3,
            now: NOW + 10,
          })
        ).oneTime,
        3,
      );
    });

    it('refuses a package uploaded before, claimed before, or twice in one upload', async () => {
      const s = await store();
      const target = await newAccount(s);
      const claimer = await newAccount(s);
      const kp = keyPackage();
      await s.addKeyPackages({ mailbox: mailbox(target), oneTime: [kp], maxOneTime: 10, now: NOW });
      const again = (oneTime = [kp], lastResort?: ReturnType<typeof keyPackage>) =>
        s.addKeyPackages({
          mailbox: mailbox(target),
          oneTime,
          ...(lastResort ? { lastResort } : {}),
          maxOneTime: 10,
          now: NOW,
        });
      await rejectsWith(again(), 'conflict');
      await rejectsWith(again([], kp), 'conflict');
      const twice = keyPackage();
      await rejectsWith(again([twice, twice]), 'conflict');
      assert.equal((await s.countKeyPackages(mailbox(target), NOW)).oneTime, 1);
      await s.claimKeyPackages({
        target: target.id,
        deviceIds: [1],
        claimer: mailbox(claimer),
        now: NOW,
        claimExpiresAt: LATER,
      });
      // Claimed (so gone from the packages), it still cannot come back.
      await rejectsWith(again(), 'conflict');
    });

    it('hands out one package per device, one-time first in upload order, then the last resort', async () => {
      const s = await store();
      const target = await newAccount(s, { deviceIds: [1, 2, 3] });
      const claimer = await newAccount(s);
      const first = keyPackage();
      const second = keyPackage();
      const expired = keyPackage(NOW);
      const lastResort = keyPackage();
      await s.addKeyPackages({
        mailbox: mailbox(target),
        oneTime: [first, second],
        lastResort,
        maxOneTime: 10,
        now: NOW - 1,
      });
      await s.addKeyPackages({
        mailbox: mailbox(target, 2),
        oneTime: [expired],
        maxOneTime: 10,
        now: NOW - 1,
      });
      const claim = () =>
        s.claimKeyPackages({
          target: target.id,
          deviceIds: [1, 2, 3],
          claimer: mailbox(claimer),
          now: NOW,
          claimExpiresAt: LATER,
        });
      const one = await claim();
      assert.deepEqual(
        one.map((r) => [r.deviceId, r.keyPackage && hex(r.keyPackage), r.lastResort]),
        [
          [1, hex(first.body), false],
          [2, undefined, false],
          [3, undefined, false],
        ],
      );
      assert.equal(hex((await claim())[0]!.keyPackage!), hex(second.body));
      // The last resort is handed out again and again, and stays.
      for (let i = 0; i < 2; i++) {
        const [r] = await claim();
        assert.equal(r!.lastResort, true);
        assert.equal(hex(r!.keyPackage!), hex(lastResort.body));
      }
      assert.deepEqual(await s.countKeyPackages(mailbox(target), NOW), { oneTime: 0, lastResort: true });
    });

    it('replaces the last resort with a newer one', async () => {
      const s = await store();
      const target = await newAccount(s);
      const claimer = await newAccount(s);
      const newer = keyPackage();
      for (const lastResort of [keyPackage(), newer]) {
        await s.addKeyPackages({
          mailbox: mailbox(target),
          oneTime: [],
          lastResort,
          maxOneTime: 1,
          now: NOW,
        });
      }
      const [r] = await s.claimKeyPackages({
        target: target.id,
        deviceIds: [1],
        claimer: mailbox(claimer),
        now: NOW,
        claimExpiresAt: LATER,
      });
      assert.equal(hex(r!.keyPackage!), hex(newer.body));
    });
  });
}

function describeGroups(store: () => Promise<Store>): void {
  describe('groups and routing lists', () => {
    it('registers a group at epoch 0 with its creator, and never reuses the id', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const groupId = randomBytes(16);
      const list = await s.createGroup(groupId, mailbox(alice), NOW);
      assert.equal(list.epoch, 0n);
      assert.deepEqual(list.members, [{ username: alice.username, deviceId: 1 }]);
      assert.deepEqual(await s.routingList(groupId, mailbox(alice)), list);
      await rejectsWith(s.createGroup(groupId, mailbox(alice), NOW), 'conflict');
      const bob = await newAccount(s);
      await rejectsWith(s.createGroup(groupId, mailbox(bob), NOW), 'conflict');
    });

    it('shows a routing list only to its members; unknown groups get the same answer', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const mallory = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const list = await s.routingList(groupId, mailbox(bob));
      assert.equal(list.epoch, 1n);
      assert.deepEqual(
        list.members,
        [
          { username: alice.username, deviceId: 1 },
          { username: bob.username, deviceId: 1 },
        ].sort((x, y) => (x.username < y.username ? -1 : 1)),
      );
      await rejectsWith(s.routingList(groupId, mailbox(mallory)), 'forbidden');
      await rejectsWith(s.routingList(groupId, mailbox(bob, 2)), 'forbidden');
      await rejectsWith(s.routingList(randomBytes(16), mailbox(mallory)), 'forbidden');
    });

    it('sequences commits by epoch compare-and-set: stale and future epochs are refused', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const accepted = await s.sequenceCommit(commit(mailbox(bob), groupId, 1n));
      assert.equal(accepted.epoch, 2n);
      assert.equal(accepted.duplicate, false);
      assert.equal(accepted.acceptedAt, NOW);
      await rejectsWith(s.sequenceCommit(commit(mailbox(alice), groupId, 1n)), 'stale-epoch');
      await rejectsWith(s.sequenceCommit(commit(mailbox(alice), groupId, 9n)), 'stale-epoch');
      assert.equal((await s.routingList(groupId, mailbox(alice))).epoch, 2n);
      // Alice got Bob's commit, once.
      const pending = await s.pendingDeliveries(mailbox(alice), 0, 100, NOW);
      assert.deepEqual(
        pending.map((p) => [p.kind, hex(p.messageId)]),
        [['commit', hex(accepted.messageId)]],
      );
      assert.deepEqual(
        accepted.deliveries.map((d) => [d.kind, d.fanout.map((f) => f.mailbox)]),
        [['commit', [mailbox(alice)]]],
      );
    });

    it('accepts exactly one of many commits racing for one epoch', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const outcomes = await Promise.allSettled(
        [alice, bob, alice, bob].map((a) => s.sequenceCommit(commit(mailbox(a), groupId, 1n))),
      );
      assert.deepEqual(outcomes.map(outcomeCode).sort(), [
        'accepted',
        'stale-epoch',
        'stale-epoch',
        'stale-epoch',
      ]);
      assert.equal((await s.routingList(groupId, mailbox(alice))).epoch, 2n);
    });

    it('answers a resent commit as before, without sequencing it again', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const input = commit(mailbox(bob), groupId, 1n);
      const first = await s.sequenceCommit(input);
      const resent = await s.sequenceCommit({ ...input, now: NOW + 5 });
      assert.equal(resent.duplicate, true);
      assert.equal(resent.epoch, 2n);
      assert.equal(resent.acceptedAt, NOW);
      assert.deepEqual(bytes(resent.messageId), bytes(first.messageId));
      // Whatever a duplicate announces is an entry the first send made.
      const firstEntries = first.deliveries.flatMap((d) => d.fanout.map((f) => `${d.kind}/${f.seq}`));
      for (const d of resent.deliveries) {
        for (const f of d.fanout) assert.ok(firstEntries.includes(`${d.kind}/${f.seq}`));
      }
      assert.equal((await s.routingList(groupId, mailbox(alice))).epoch, 2n);
      assert.equal((await s.pendingDeliveries(mailbox(alice), 0, 100, NOW)).length, 1);
      // The same client id with other content is a conflict.
      await rejectsWith(s.sequenceCommit({ ...input, contentHash: randomBytes(32) }), 'conflict');
    });

    it('refuses a commit from a mailbox not on the routing list', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const mallory = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), []);
      await rejectsWith(s.sequenceCommit(commit(mailbox(mallory), groupId, 1n)), 'forbidden');
      await rejectsWith(s.sequenceCommit(commit(mailbox(mallory), randomBytes(16), 0n)), 'forbidden');
      assert.equal((await s.routingList(groupId, mailbox(alice))).epoch, 1n);
    });

    it("routes a Welcome only through the committing device's own live claims", async () => {
      const s = await store();
      const alice = await newAccount(s, { deviceIds: [1, 2] });
      const bob = await newAccount(s, { deviceIds: [1, 2] });
      const carol = await newAccount(s);
      const dave = await newAccount(s);
      const groupId = randomBytes(16);
      await s.createGroup(groupId, mailbox(alice), NOW);
      const refB1 = await claimedRef(s, mailbox(bob, 1), mailbox(alice));
      const refC = await claimedRef(s, mailbox(carol), mailbox(alice));
      // Claimed by someone else, by another device of the committer, or never claimed.
      const refD = await claimedRef(s, mailbox(dave), mailbox(carol));
      const refB2 = await claimedRef(s, mailbox(bob, 2), mailbox(alice, 2));
      const unclaimed = keyPackage();
      await s.addKeyPackages({ mailbox: mailbox(dave), oneTime: [unclaimed], maxOneTime: 10, now: NOW });
      for (const ref of [refD, refB2, unclaimed.ref, randomBytes(32)]) {
        await rejectsWith(
          s.sequenceCommit(
            commit(mailbox(alice), groupId, 0n, {
              welcome: { body: randomBytes(90), keyPackageRefs: [refB1, ref] },
            }),
          ),
          'unknown-key-package',
        );
      }
      // Nothing was stored or changed by the refused commits.
      assert.equal((await s.routingList(groupId, mailbox(alice))).epoch, 0n);
      assert.deepEqual(await s.pendingDeliveries(mailbox(bob, 1), 0, 100, NOW), []);
      const welcome = randomBytes(90);
      const accepted = await s.sequenceCommit(
        commit(mailbox(alice), groupId, 0n, { welcome: { body: welcome, keyPackageRefs: [refB1, refC] } }),
      );
      assert.equal(accepted.epoch, 1n);
      assert.deepEqual(
        accepted.deliveries.map((d) => [d.kind, d.fanout.map((f) => f.mailbox)]),
        [
          ['commit', []],
          ['welcome', [mailbox(bob, 1), mailbox(carol)]],
        ],
      );
      for (const m of [mailbox(bob, 1), mailbox(carol)]) {
        const [got, ...rest] = await s.pendingDeliveries(m, 0, 100, NOW);
        assert.equal(got!.kind, 'welcome');
        assert.deepEqual(bytes(got!.body), bytes(welcome));
        assert.deepEqual(bytes(got!.messageId), bytes(accepted.deliveries[1]!.messageId));
        assert.equal(rest.length, 0);
      }
      assert.deepEqual(await s.pendingDeliveries(mailbox(bob, 2), 0, 100, NOW), []);
      assert.deepEqual(await s.pendingDeliveries(mailbox(dave), 0, 100, NOW), []);
      assert.deepEqual(
        (await s.routingList(groupId, mailbox(carol))).members
          .map((m) => `${m.username}/${m.deviceId}`)
          .sort(),
        [`${alice.username}/1`, `${bob.username}/1`, `${carol.username}/1`].sort(),
      );
    });

    it('refuses a Welcome through an expired claim', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = randomBytes(16);
      await s.createGroup(groupId, mailbox(alice), NOW);
      const kp = keyPackage();
      await s.addKeyPackages({ mailbox: mailbox(bob), oneTime: [kp], maxOneTime: 10, now: NOW });
      await s.claimKeyPackages({
        target: bob.id,
        deviceIds: [1],
        claimer: mailbox(alice),
        now: NOW,
        claimExpiresAt: NOW + 10,
      });
      await rejectsWith(
        s.sequenceCommit(
          commit(mailbox(alice), groupId, 0n, {
            now: NOW + 10,
            welcome: { body: randomBytes(90), keyPackageRefs: [kp.ref] },
          }),
        ),
        'unknown-key-package',
      );
    });

    it('removes by commit: the removed mailbox gets that commit and nothing after it', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const carol = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob), mailbox(carol)]);
      const removal = await s.sequenceCommit(
        commit(mailbox(alice), groupId, 1n, {
          // A name that is gone (no such account) needs no removal.
          remove: [
            { username: carol.username, deviceId: 1 },
            { username: uniqueName('gone'), deviceId: 1 },
          ],
        }),
      );
      assert.deepEqual(
        removal.deliveries[0]!.fanout.map((f) => f.mailbox).sort((x, y) => x.accountId - y.accountId),
        [mailbox(bob), mailbox(carol)].sort((x, y) => x.accountId - y.accountId),
      );
      await s.storeMessage(message(mailbox(alice), groupId));
      const kinds = async (m: ReturnType<typeof mailbox>) =>
        (await s.pendingDeliveries(m, 0, 100, NOW)).map((p) => p.kind);
      assert.deepEqual(await kinds(mailbox(carol)), ['welcome', 'commit']);
      assert.deepEqual(await kinds(mailbox(bob)), ['welcome', 'commit', 'message']);
      await rejectsWith(s.routingList(groupId, mailbox(carol)), 'forbidden');
      await rejectsWith(s.storeMessage(message(mailbox(carol), groupId)), 'forbidden');
    });

    it('refuses a commit whose committer removes itself, and stores nothing', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      await rejectsWith(
        s.sequenceCommit(
          commit(mailbox(alice), groupId, 1n, { remove: [{ username: alice.username, deviceId: 1 }] }),
        ),
        'malformed',
      );
      const list = await s.routingList(groupId, mailbox(alice));
      assert.equal(list.epoch, 1n);
      assert.equal(list.members.length, 2);
      assert.equal((await s.pendingDeliveries(mailbox(bob), 0, 100, NOW)).length, 1);
    });

    it('refuses a commit that would make the routing list longer than allowed, and stores nothing', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const carol = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const ref = await claimedRef(s, mailbox(carol), mailbox(alice));
      const welcome = { body: randomBytes(90), keyPackageRefs: [ref] };
      await rejectsWith(
        s.sequenceCommit(commit(mailbox(alice), groupId, 1n, { welcome, maxMembers: 2 })),
        'too-large',
      );
      assert.equal((await s.routingList(groupId, mailbox(alice))).epoch, 1n);
      assert.deepEqual(await s.pendingDeliveries(mailbox(carol), 0, 100, NOW), []);
      assert.equal((await s.pendingDeliveries(mailbox(bob), 0, 100, NOW)).length, 1);
      // Exactly at the limit is allowed.
      const accepted = await s.sequenceCommit(
        commit(mailbox(alice), groupId, 1n, { welcome, maxMembers: 3 }),
      );
      assert.equal(accepted.epoch, 2n);
    });
  });
}

function describeDelivery(store: () => Promise<Store>, fresh: () => Promise<Store>): void {
  describe('delivery, ack and redelivery', () => {
    it('stores a message for every other mailbox on the routing list, with its kind, id and body', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s, { deviceIds: [1, 2] });
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob, 1), mailbox(bob, 2)]);
      const input = message(mailbox(alice), groupId, { now: NOW + 7 });
      const accepted = await s.storeMessage(input);
      assert.equal(accepted.duplicate, false);
      assert.equal(accepted.epoch, 1n);
      assert.equal(accepted.acceptedAt, NOW + 7);
      assert.equal(accepted.deliveries.length, 1);
      const [delivery] = accepted.deliveries;
      assert.equal(delivery!.kind, 'message');
      assert.deepEqual(bytes(delivery!.messageId), bytes(accepted.messageId));
      assert.deepEqual(
        delivery!.fanout.map((f) => f.mailbox),
        [mailbox(bob, 1), mailbox(bob, 2)],
      );
      for (const deviceId of [1, 2]) {
        const [welcome, got] = await s.pendingDeliveries(mailbox(bob, deviceId), 0, 100, NOW);
        assert.equal(welcome!.kind, 'welcome');
        assert.equal(got!.kind, 'message');
        assert.deepEqual(bytes(got!.messageId), bytes(accepted.messageId));
        assert.deepEqual(bytes(got!.body), bytes(input.body));
        assert.equal(got!.receivedAt, NOW + 7);
        assert.equal(got!.seq, delivery!.fanout.find((f) => f.mailbox.deviceId === deviceId)!.seq);
      }
      // Not to the sender.
      assert.deepEqual(await s.pendingDeliveries(mailbox(alice), 0, 100, NOW), []);
    });

    it('stores a retried send once and answers it as before; other content under the same id is a conflict', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const input = message(mailbox(alice), groupId);
      const first = await s.storeMessage(input);
      const second = await s.storeMessage({ ...input, now: NOW + 5 });
      assert.equal(second.duplicate, true);
      assert.deepEqual(bytes(second.messageId), bytes(first.messageId));
      assert.equal(second.epoch, first.epoch);
      assert.equal(second.acceptedAt, first.acceptedAt);
      await rejectsWith(s.storeMessage({ ...input, contentHash: randomBytes(32) }), 'conflict');
      const pending = await s.pendingDeliveries(mailbox(bob), 0, 100, NOW);
      assert.deepEqual(
        pending.map((p) => p.kind),
        ['welcome', 'message'],
      );
      // Client ids are per device: another sender's same id is a new message.
      const fromBob = await s.storeMessage({ ...input, sender: mailbox(bob) });
      assert.equal(fromBob.duplicate, false);
    });

    it('refuses a message from a mailbox not on the routing list', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const mallory = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), []);
      await rejectsWith(s.storeMessage(message(mailbox(mallory), groupId)), 'forbidden');
      await rejectsWith(s.storeMessage(message(mailbox(mallory), randomBytes(16))), 'forbidden');
      // Alone in a group, a member's message reaches nobody but is accepted.
      const alone = await s.storeMessage(message(mailbox(alice), groupId));
      assert.deepEqual(
        alone.deliveries.map((d) => d.fanout.length),
        [0],
      );
    });

    it('reads a mailbox in order, after a position, up to a limit, leaving out positions and expired entries', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s);
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob)]);
      const sent = [];
      for (let i = 0; i < 4; i++) {
        sent.push(
          await s.storeMessage(message(mailbox(alice), groupId, { expiresAt: i === 3 ? NOW + 50 : LATER })),
        );
      }
      const all = await s.pendingDeliveries(mailbox(bob), 0, 100, NOW);
      assert.equal(all.length, 5);
      const seqs = all.map((p) => p.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((x, y) => x - y),
      );
      assert.deepEqual(
        all.slice(1).map((p) => hex(p.messageId)),
        sent.map((a) => hex(a.messageId)),
      );
      assert.deepEqual(
        (await s.pendingDeliveries(mailbox(bob), seqs[1]!, 100, NOW)).map((p) => p.seq),
        seqs.slice(2),
      );
      assert.deepEqual(
        (await s.pendingDeliveries(mailbox(bob), 0, 2, NOW)).map((p) => p.seq),
        seqs.slice(0, 2),
      );
      assert.deepEqual(
        (await s.pendingDeliveries(mailbox(bob), 0, 100, NOW, [seqs[0]!, seqs[2]!])).map((p) => p.seq),
        [seqs[1], seqs[3], seqs[4]],
      );
      assert.deepEqual(
        (await s.pendingDeliveries(mailbox(bob), 0, 100, NOW + 50)).map((p) => p.seq),
        seqs.slice(0, 4),
      );
    });

    it('redelivers an unacked message with the same id and body, and deletes only after the ack', async () => {
      const s = await store();
      const alice = await newAccount(s);
      const bob = await newAccount(s, { deviceIds: [1, 2] });
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob, 1), mailbox(bob, 2)]);
      const input = message(mailbox(alice), groupId);
      const accepted = await s.storeMessage(input);
      const read = () => s.pendingDeliveries(mailbox(bob), 0, 100, NOW);
      const [, first] = await read();
      const [, again] = await read();
      assert.deepEqual(bytes(again!.messageId), bytes(first!.messageId));
      assert.deepEqual(bytes(again!.body), bytes(input.body));
      assert.equal(again!.kind, 'message');
      // Another mailbox's ack, even of the same account, deletes nothing.
      const mallory = await newAccount(s);
      assert.equal(await s.ack(mailbox(mallory), [accepted.messageId]), 0);
      assert.equal(await s.ack(mailbox(bob, 3), [accepted.messageId]), 0);
      assert.equal((await read()).length, 2);
      // Ids that cannot be ours are ignored.
      assert.equal(await s.ack(mailbox(bob), [randomBytes(16), randomBytes(5), new Uint8Array(16)]), 0);
      assert.equal(
        await s.ack(
          mailbox(bob),
          (await read()).map((p) => p.messageId),
        ),
        2,
      );
      assert.deepEqual(await read(), []);
      assert.equal(await s.ack(mailbox(bob), [accepted.messageId]), 0);
      // The other device still has its copy until it acks too.
      const [, other] = await s.pendingDeliveries(mailbox(bob, 2), 0, 100, NOW);
      assert.deepEqual(bytes(other!.body), bytes(input.body));
      assert.equal(await s.ack(mailbox(bob, 2), [accepted.messageId]), 1);
      assert.equal(await s.ack(mailbox(bob), []), 0);
    });

    it('stores the messages of one tick together, with each check failing only its message', async () => {
      const s = await fresh();
      const a = await newAccount(s);
      const b = await newAccount(s);
      const outsider = await newAccount(s);
      const groupId = await groupWith(s, mailbox(a), [mailbox(b)]);
      const resent = message(mailbox(a), groupId);
      // All in one tick: one group commit.
      const outcomes = await Promise.allSettled([
        ...Array.from({ length: 50 }, () => s.storeMessage(message(mailbox(a), groupId))),
        s.storeMessage(resent),
        s.storeMessage({ ...resent }),
        s.storeMessage({ ...resent, contentHash: randomBytes(32) }),
        s.storeMessage(message(mailbox(outsider), groupId)),
        // A third copy in the same tick is answered like the second (PostgreSQL once answered
        // it with no message id at all).
        s.storeMessage({ ...resent }),
      ]);
      const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
      assert.ok(values.slice(0, 51).every((v) => v && !v.duplicate && v.deliveries[0]!.fanout.length === 1));
      for (const copy of [values[51]!, values[54]!]) {
        assert.equal(copy.duplicate, true);
        assert.deepEqual(bytes(copy.messageId), bytes(values[50]!.messageId));
        assert.equal(copy.epoch, values[50]!.epoch);
      }
      assert.equal(outcomeCode(outcomes[52]!), 'conflict');
      assert.equal(outcomeCode(outcomes[53]!), 'forbidden');
      // b's mailbox: the Welcome and 51 messages, each once, in order.
      const pending = await s.pendingDeliveries(mailbox(b), 0, 1000, NOW);
      assert.equal(pending.length, 52);
      assert.deepEqual(
        pending.map((p) => p.seq),
        [...pending.map((p) => p.seq)].sort((x, y) => x - y),
      );
      assert.equal(new Set(pending.map((p) => hex(p.messageId))).size, 52);
      // A resend in a later tick is answered as before.
      const later = await s.storeMessage({ ...resent });
      assert.equal(later.duplicate, true);
      assert.deepEqual(bytes(later.messageId), bytes(values[50]!.messageId));
    });
  });
}

function describeAttachmentsAndPurge(fresh: () => Promise<Store>): void {
  describe('attachments and expiry', () => {
    it('keeps an attachment record until it expires', async () => {
      const s = await fresh();
      const owner = await newAccount(s);
      const record = {
        id: randomBytes(16),
        tokenHash: randomBytes(32),
        size: 1234,
        createdAt: NOW,
        expiresAt: NOW + DAY,
      };
      await s.createAttachment(record, mailbox(owner));
      const found = await s.attachment(record.id, NOW);
      assert.deepEqual(
        { ...found!, id: hex(found!.id), tokenHash: hex(found!.tokenHash) },
        { ...record, id: hex(record.id), tokenHash: hex(record.tokenHash) },
      );
      assert.equal(await s.attachment(record.id, NOW + DAY), undefined);
      assert.equal(await s.attachment(randomBytes(16), NOW), undefined);
      await assert.rejects(s.createAttachment(record, mailbox(owner)));
    });

    it('purges everything past its expiry and reports what it removed', async () => {
      const s = await fresh();
      const alice = await newAccount(s);
      const bob = await newAccount(s, { deviceIds: [1, 2] });
      const groupId = await groupWith(s, mailbox(alice), [mailbox(bob, 1), mailbox(bob, 2)]);
      const short = message(mailbox(alice), groupId, { expiresAt: NOW + 100 });
      await s.storeMessage(short);
      const kept = await s.storeMessage(message(mailbox(alice), groupId, { expiresAt: NOW + 2 * DAY }));
      const gone = {
        id: randomBytes(16),
        tokenHash: randomBytes(32),
        size: 1,
        createdAt: NOW,
        expiresAt: NOW + 100,
      };
      const stays = { ...gone, id: randomBytes(16), expiresAt: NOW + 2 * DAY };
      await s.createAttachment(gone, mailbox(alice));
      await s.createAttachment(stays, mailbox(alice));
      const nonce = randomBytes(32);
      await s.addChallenge(nonce, NOW + 100);
      const token = randomBytes(32);
      await s.createSession(token, mailbox(alice), NOW + 100);
      const invite = randomBytes(32);
      await s.addInvites([invite], 1, NOW + 100);
      await s.addKeyPackages({
        mailbox: mailbox(alice),
        oneTime: [keyPackage(NOW + 100)],
        maxOneTime: 10,
        now: NOW,
      });
      const claimed = await claimedRef(s, mailbox(bob), mailbox(alice));

      const purged = await s.purgeExpired(NOW + DAY);
      // The short-lived message: one row, one entry per device; what expires at LATER stays.
      assert.equal(purged.messages, 1);
      assert.equal(purged.entries, 2);
      assert.deepEqual(purged.attachments.map(hex), [hex(gone.id)]);
      for (const deviceId of [1, 2]) {
        const left = await s.pendingDeliveries(mailbox(bob, deviceId), 0, 100, NOW);
        assert.deepEqual(
          left.map((p) => p.kind),
          ['welcome', 'message'],
        );
        assert.deepEqual(bytes(left[1]!.messageId), bytes(kept.messageId));
      }
      assert.equal(await s.takeChallenge(nonce), undefined);
      assert.equal(await s.sessionByTokenHash(token, NOW), undefined);
      await rejectsWith(newAccount(s, { inviteHash: invite }), 'invite-required');
      assert.equal((await s.countKeyPackages(mailbox(alice), NOW)).oneTime, 0);
      assert.ok(await s.attachment(stays.id, NOW));
      // The idempotency record of the short message expired with it: the id is new again.
      assert.equal((await s.storeMessage({ ...short, now: NOW + DAY, expiresAt: LATER })).duplicate, false);
      // A live claim routes a Welcome; once purged, it routes none, even read at an earlier time.
      const accepted = await s.sequenceCommit(
        commit(mailbox(alice), groupId, 1n, {
          welcome: { body: randomBytes(90), keyPackageRefs: [claimed] },
        }),
      );
      assert.equal(accepted.epoch, 2n);
      const second = await s.purgeExpired(LATER);
      assert.deepEqual(second.attachments.map(hex), [hex(stays.id)]);
      await rejectsWith(
        s.sequenceCommit(
          commit(mailbox(alice), groupId, 2n, {
            now: NOW,
            welcome: { body: randomBytes(90), keyPackageRefs: [claimed] },
          }),
        ),
        'unknown-key-package',
      );
    });
  });
}
