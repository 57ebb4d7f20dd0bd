// A Welcome is routed only through key packages the committing device itself claimed. The
// attack it stops: a member of one group (Mallory) names, in her commit's Welcome, a key
// package of Victor's that someone else (Carol) claimed for a conversation of her own. A
// KeyPackageRef is only a hash of the package, which Mallory can compute once she has seen it
// (in Carol's Add, say). Routed by anyone's claim, the server delivers Mallory's Welcome to
// Victor's device and puts his mailbox on her group's routing list, without any claim of hers
// (so past the per-target claim limit); his device, joining from it first, uses up the
// one-time package Carol's Welcome needs. Each case runs on both storage adapters; the negative
// control runs the same attack against a store opened with the test-only
// `unsafeTestingRouteWelcomeByAnyClaim` and shows Victor receiving the ghost Welcome.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContentType, DeliveryKind, routes } from '@ghostproof/api';
import { PostgresStore } from '../src/storage/postgres.js';
import { SqliteStore } from '../src/storage/sqlite.js';
import type { Store } from '../src/storage/store.js';
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
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

interface StoreOptions {
  readonly unsafeTestingRouteWelcomeByAnyClaim?: boolean;
}

interface Adapter {
  readonly name: string;
  /** Prepares what the adapter's stores live in (a directory, a database). */
  setUp(): Promise<void>;
  /** A new, empty store; `name` keeps the stores of one test file apart. */
  open(name: string, options: StoreOptions): Promise<Store>;
  tearDown(): Promise<void>;
}

function sqliteAdapter(): Adapter {
  let dir = '';
  return {
    name: 'SQLite',
    async setUp() {
      dir = mkdtempSync(join(tmpdir(), 'ghostproof-welcome-'));
    },
    async open(name, options) {
      return new SqliteStore({ path: join(dir, `${name}.sqlite`), ...options });
    },
    async tearDown() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresAdapter(): Adapter {
  let db: TestDatabase | undefined;
  return {
    name: 'PostgreSQL',
    async setUp() {
      db = await createTestDatabase();
    },
    async open(name, options) {
      return PostgresStore.open({ connectionString: db!.url, schema: name, ...options });
    },
    async tearDown() {
      await db?.drop();
    },
  };
}

const names = (list: { members: { username: string; deviceId: number }[] }) =>
  list.members.map((m) => `${m.username}/${m.deviceId}`).sort();

/**
 * Mallory and Bob share a group (epoch 1) and Bob has a message from Mallory he has not
 * fetched; Victor uploaded a key package that Carol claimed; Mallory claimed nothing of
 * Victor's. `ghostCommit` is Mallory's commit whose Welcome names Carol's claim.
 */
async function setUpGhostWelcome(url: string) {
  const pair = await pairInGroup(url);
  const { a: mallory, b: bob, tokenB: tokenBob, wsA: wsMallory, groupId, epoch } = pair;
  const victor = await (await TestAccount.create(url)).register();
  const carol = await (await TestAccount.create(url)).register();
  const tokenVictor = await victor.signIn();
  const tokenCarol = await carol.signIn();
  const kpVictor = await victor.keyPackage();
  await call(url, routes.uploadKeyPackages, { oneTime: [kpVictor.bytes] }, { token: tokenVictor });
  const claimed = await call(
    url,
    routes.claimKeyPackages,
    { username: victor.username },
    { token: tokenCarol },
  );
  assert.deepEqual(claimed.keyPackages[0]!.keyPackage, kpVictor.bytes);
  const unfetched = privateMessage(groupId, epoch);
  await wsMallory.ok('accepted', {
    case: 'sendMessage',
    value: { clientId: randomId(), message: unfetched },
  });
  const ghostWelcome = welcomeFor([kpVictor.ref]);
  const ghostCommit = {
    clientId: randomId(),
    commit: privateMessage(groupId, epoch, ContentType.Commit),
    welcome: ghostWelcome,
  };
  return {
    mallory,
    bob,
    victor,
    carol,
    tokenBob,
    tokenVictor,
    tokenCarol,
    wsMallory,
    groupId,
    epoch,
    kpVictor,
    unfetched,
    ghostWelcome,
    ghostCommit,
  };
}

for (const makeAdapter of [sqliteAdapter, postgresAdapter]) {
  const adapterName = makeAdapter().name;

  describe(`Welcome routing by the committer's own claims (${adapterName})`, () => {
    const adapter = makeAdapter();
    let h: Harness;
    before(async () => {
      await adapter.setUp();
      h = await startServer({ store: await adapter.open('defended', {}) });
    });
    after(async () => {
      await h.stop();
      await adapter.tearDown();
    });

    it("refuses a Welcome naming a key package another account claimed: nothing stored, epoch unchanged, the victim's device gets nothing", async () => {
      const s = await setUpGhostWelcome(h.url);
      await s.wsMallory.fails('unknown-key-package', { case: 'sendCommit', value: s.ghostCommit });
      // Mallory's own claim next to Carol's does not carry it: the whole commit is refused.
      const kpOwn = await s.victor.keyPackage();
      await call(h.url, routes.uploadKeyPackages, { oneTime: [kpOwn.bytes] }, { token: s.tokenVictor });
      const tokenMallory = await s.mallory.signIn();
      const own = await call(
        h.url,
        routes.claimKeyPackages,
        { username: s.victor.username },
        { token: tokenMallory },
      );
      assert.deepEqual(own.keyPackages[0]!.keyPackage, kpOwn.bytes);
      await s.wsMallory.fails('unknown-key-package', {
        case: 'sendCommit',
        value: {
          clientId: randomId(),
          commit: privateMessage(s.groupId, s.epoch, ContentType.Commit),
          welcome: welcomeFor([kpOwn.ref, s.kpVictor.ref]),
        },
      });
      // A ref nobody claimed gets the same answer.
      await s.wsMallory.fails('unknown-key-package', {
        case: 'sendCommit',
        value: {
          clientId: randomId(),
          commit: privateMessage(s.groupId, s.epoch, ContentType.Commit),
          welcome: welcomeFor([randomId(32)]),
        },
      });
      const unchanged = await s.wsMallory.ok('routingList', {
        case: 'getRoutingList',
        value: { groupId: s.groupId },
      });
      assert.equal(unchanged.epoch, s.epoch);
      assert.deepEqual(names(unchanged), [`${s.mallory.username}/1`, `${s.bob.username}/1`].sort());

      // The honest path, at the same epoch: Mallory's Welcome for the package she claimed.
      const honestCommit = privateMessage(s.groupId, s.epoch, ContentType.Commit);
      const honestWelcome = welcomeFor([kpOwn.ref]);
      const accepted = await s.wsMallory.ok('accepted', {
        case: 'sendCommit',
        value: { clientId: randomId(), commit: honestCommit, welcome: honestWelcome },
      });
      assert.equal(accepted.epoch, s.epoch + 1n);
      // And Carol's, for the package she claimed: the ref was live, only not Mallory's.
      const wsCarol = await WsClient.connect(h.url, s.tokenCarol);
      const carolsGroup = randomId();
      await wsCarol.ok('routingList', { case: 'createGroup', value: { groupId: carolsGroup } });
      const carolsWelcome = welcomeFor([s.kpVictor.ref]);
      await wsCarol.ok('accepted', {
        case: 'sendCommit',
        value: {
          clientId: randomId(),
          commit: privateMessage(carolsGroup, 0n, ContentType.Commit),
          welcome: carolsWelcome,
        },
      });

      // Victor's mailbox holds exactly the two honest Welcomes, in order: no refused one before them.
      const wsVictor = await WsClient.connect(h.url, s.tokenVictor);
      const got = await wsVictor.waitForDeliveries(2);
      assert.deepEqual(
        got.map((d) => d.kind),
        [DeliveryKind.WELCOME, DeliveryKind.WELCOME],
      );
      assert.deepEqual(got[0]!.message, honestWelcome);
      assert.deepEqual(got[1]!.message, carolsWelcome);
      await wsVictor.expectNoMoreDeliveries(2);
      // Bob lost nothing and got no refused commit: his Welcome, the unfetched message, then
      // the accepted commit.
      const wsBob = await WsClient.connect(h.url, s.tokenBob);
      const bobs = await wsBob.waitForDeliveries(3);
      assert.deepEqual(
        bobs.map((d) => d.kind),
        [DeliveryKind.WELCOME, DeliveryKind.MESSAGE, DeliveryKind.COMMIT],
      );
      assert.deepEqual(bobs[1]!.message, s.unfetched);
      assert.deepEqual(bobs[2]!.message, honestCommit);
      await wsBob.expectNoMoreDeliveries(3);
      const list = await wsBob.ok('routingList', { case: 'getRoutingList', value: { groupId: s.groupId } });
      assert.equal(list.epoch, s.epoch + 1n);
      assert.deepEqual(
        names(list),
        [`${s.mallory.username}/1`, `${s.bob.username}/1`, `${s.victor.username}/1`].sort(),
      );
      await Promise.all([s.wsMallory, wsCarol, wsVictor, wsBob].map((ws) => ws.close()));
    });

    it("refuses a package claimed by another device of the committer's own account", async () => {
      const mallory = await (await TestAccount.create(h.url)).register();
      const victor = await (await TestAccount.create(h.url)).register();
      const token1 = await mallory.signIn();
      const token2 = await mallory.linkDevice(2, token1);
      const tokenVictor = await victor.signIn();
      const kp = await victor.keyPackage();
      await call(h.url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token: tokenVictor });
      await call(h.url, routes.claimKeyPackages, { username: victor.username }, { token: token2 });
      const [ws1, ws2] = await Promise.all([
        WsClient.connect(h.url, token1),
        WsClient.connect(h.url, token2),
      ]);
      const groupId = randomId();
      await ws1.ok('routingList', { case: 'createGroup', value: { groupId } });
      const commit = () => ({
        clientId: randomId(),
        commit: privateMessage(groupId, 0n, ContentType.Commit),
        welcome: welcomeFor([kp.ref]),
      });
      // Device 1 did not claim it: refused, though device 2 of the same account did.
      await ws1.fails('unknown-key-package', { case: 'sendCommit', value: commit() });
      // Device 2, which claimed it, adds Victor to a group of its own.
      const otherGroup = randomId();
      await ws2.ok('routingList', { case: 'createGroup', value: { groupId: otherGroup } });
      await ws2.ok('accepted', {
        case: 'sendCommit',
        value: {
          clientId: randomId(),
          commit: privateMessage(otherGroup, 0n, ContentType.Commit),
          welcome: welcomeFor([kp.ref]),
        },
      });
      const wsVictor = await WsClient.connect(h.url, tokenVictor);
      await wsVictor.waitForDeliveries(1);
      await wsVictor.expectNoMoreDeliveries(1);
      const list = await ws1.ok('routingList', { case: 'getRoutingList', value: { groupId } });
      assert.equal(list.epoch, 0n);
      await Promise.all([ws1, ws2, wsVictor].map((ws) => ws.close()));
    });

    it('routes a last-resort package for every device that claimed it, not only the latest claimer', async () => {
      const victor = await (await TestAccount.create(h.url)).register();
      const alice = await (await TestAccount.create(h.url)).register();
      const carol = await (await TestAccount.create(h.url)).register();
      const tokenVictor = await victor.signIn();
      const lastResort = await victor.keyPackage();
      await call(h.url, routes.uploadKeyPackages, { lastResort: lastResort.bytes }, { token: tokenVictor });
      const tokens = [await alice.signIn(), await carol.signIn()];
      // Alice claims first, Carol second: Carol's claim must not take Alice's away.
      for (const token of tokens) {
        const claim = await call(h.url, routes.claimKeyPackages, { username: victor.username }, { token });
        assert.equal(claim.keyPackages[0]!.lastResort, true);
      }
      const welcomes: Uint8Array[] = [];
      for (const token of tokens) {
        const ws = await WsClient.connect(h.url, token);
        const groupId = randomId();
        await ws.ok('routingList', { case: 'createGroup', value: { groupId } });
        const welcome = welcomeFor([lastResort.ref]);
        await ws.ok('accepted', {
          case: 'sendCommit',
          value: { clientId: randomId(), commit: privateMessage(groupId, 0n, ContentType.Commit), welcome },
        });
        welcomes.push(welcome);
        await ws.close();
      }
      const wsVictor = await WsClient.connect(h.url, tokenVictor);
      const got = await wsVictor.waitForDeliveries(2);
      assert.deepEqual(
        got.map((d) => d.message),
        welcomes,
      );
      await wsVictor.close();
    });
  });

  describe(`negative control: routing a Welcome by anyone's claim (${adapterName})`, () => {
    const adapter = makeAdapter();
    let h: Harness;
    before(async () => {
      await adapter.setUp();
      h = await startServer({
        store: await adapter.open('any_claim', { unsafeTestingRouteWelcomeByAnyClaim: true }),
      });
    });
    after(async () => {
      await h.stop();
      await adapter.tearDown();
    });

    it("delivers Mallory's ghost Welcome to Victor's device and puts it on her routing list", async () => {
      const s = await setUpGhostWelcome(h.url);
      const accepted = await s.wsMallory.ok('accepted', { case: 'sendCommit', value: s.ghostCommit });
      assert.equal(accepted.epoch, s.epoch + 1n);
      const wsVictor = await WsClient.connect(h.url, s.tokenVictor);
      const [got] = await wsVictor.waitForDeliveries(1);
      assert.equal(got!.kind, DeliveryKind.WELCOME);
      assert.deepEqual(got!.message, s.ghostWelcome);
      const list = await s.wsMallory.ok('routingList', {
        case: 'getRoutingList',
        value: { groupId: s.groupId },
      });
      assert.ok(names(list).includes(`${s.victor.username}/1`));
      await Promise.all([s.wsMallory.close(), wsVictor.close()]);
    });
  });
}
