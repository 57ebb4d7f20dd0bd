// A message withheld inside an epoch is noticed. A skipped generation of a sender that late
// delivery does not fill within a minute is reported once (and nothing is reported when it
// does arrive late); the withheld tail of an epoch, which leaves no skipped number behind, is
// caught by the sender's statement of how many it sent there. The controls run the same
// withholding against members with the gap checks off (unsafeTestingIgnoreForksAndGaps):
// the messages are gone and nothing is said.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { body, MISSING_AFTER_MS, type Conversation } from '@ghostproof/protocol';
import { deliver, groupOf, land, suites, World } from './helpers/people.js';

async function pair(cipherSuite: number, options: { unsafeTestingIgnoreForksAndGaps?: boolean } = {}) {
  const clock = { now: Date.now() };
  const world = new World(cipherSuite as never, { clock: () => clock.now, ...options });
  const alice = await world.person('alice');
  const bob = await world.person('bob');
  const carol = await world.person('carol');
  const convs = await groupOf(world, alice, [bob]);
  return { clock, world, carol, alice: convs.get('alice/1')!, bob: convs.get('bob/1')! };
}

async function send(from: Conversation, ...texts: string[]): Promise<Uint8Array[]> {
  const out = [];
  for (const text of texts) out.push((await from.encrypt(body.text(text))).message);
  return out;
}

for (const [suiteName, cipherSuite] of suites) {
  describe(`messages withheld inside an epoch (${suiteName})`, () => {
    it('a skipped message that never arrives is reported once, a minute later', async () => {
      const { clock, alice, bob } = await pair(cipherSuite);
      const [m0, m1, m2] = await send(bob, 'one', 'two', 'three');
      await deliver([alice], m0!);
      await deliver([alice], m2!); // m1 is withheld
      clock.now += MISSING_AFTER_MS - 1000;
      assert.deepEqual(await alice.takeMissingMessages(), [], 'not before the minute is up');
      clock.now += 2000;
      assert.deepEqual(await alice.takeMissingMessages(), [
        { sender: { username: 'bob', deviceId: 1 }, epoch: alice.epoch, count: 1 },
      ]);
      assert.deepEqual(await alice.takeMissingMessages(), [], 'told once');
      void m1;
    });

    it('out-of-order delivery that fills the gap in time raises nothing', async () => {
      const { clock, alice, bob } = await pair(cipherSuite);
      const [m0, m1, m2, m3] = await send(bob, 'one', 'two', 'three', 'four');
      await deliver([alice], m0!);
      await deliver([alice], m3!);
      await deliver([alice], m1!);
      clock.now += 10_000;
      await deliver([alice], m2!);
      clock.now += MISSING_AFTER_MS * 2;
      assert.deepEqual(await alice.takeMissingMessages(), []);
    });

    it('the withheld tail of an epoch is caught by the sender’s statement in the next one', async () => {
      const { clock, alice, bob } = await pair(cipherSuite);
      const epoch = alice.epoch;
      const [m0] = await send(bob, 'one', 'two', 'three'); // the last two are withheld
      await deliver([alice], m0!);
      await land(alice, await alice.prepareSelfUpdate(), [bob]);
      const [next] = await send(bob, 'in the new epoch');
      const [outcome] = await deliver([alice], next!);
      assert.equal(outcome?.kind, 'message');
      clock.now += MISSING_AFTER_MS + 1000;
      assert.deepEqual(await alice.takeMissingMessages(), [
        { sender: { username: 'bob', deviceId: 1 }, epoch, count: 2 },
      ]);
    });

    it('a complete epoch stated again raises nothing, and a joiner is not told about epochs before it', async () => {
      const { clock, world, carol, alice, bob } = await pair(cipherSuite);
      for (const m of await send(bob, 'one', 'two')) await deliver([alice], m);
      const add = await alice.prepareAddMembers([
        { username: 'carol', keyPackages: await world.claimKeyPackages(carol) },
      ]);
      await land(alice, add.pending!, [bob]);
      const carolConv = await carol.devices[0]!.client.joinFromWelcome(add.pending!.welcome!);
      const [next] = await send(bob, 'after carol joined');
      await deliver([alice, carolConv], next!);
      clock.now += MISSING_AFTER_MS + 1000;
      assert.deepEqual(await alice.takeMissingMessages(), []);
      assert.deepEqual(await carolConv.takeMissingMessages(), []);
    });

    it('a member making gaps of its own cannot push another sender’s missing message out', async () => {
      const world = new World(cipherSuite, { clock: () => clock.now });
      const clock = { now: Date.now() };
      const [alice, bob, mallory] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('mallory'),
      ];
      const convs = await groupOf(world, alice, [bob, mallory]);
      const [a, b, m] = ['alice/1', 'bob/1', 'mallory/1'].map((k) => convs.get(k)!);
      const [b0, , b2] = await send(b!, 'one', 'withheld', 'three');
      await deliver([a!], b0!);
      await deliver([a!], b2!);
      // mallory skips one of her own generations 300 times: more ranges than are kept.
      for (let i = 0; i < 300; i++) {
        await m!.encrypt(body.text('never sent'));
        await deliver([a!], (await m!.encrypt(body.text('sent'))).message);
      }
      clock.now += MISSING_AFTER_MS + 1000;
      const reported = await a!.takeMissingMessages();
      assert.deepEqual(
        reported.filter((r) => r.sender.username === 'bob'),
        [{ sender: { username: 'bob', deviceId: 1 }, epoch: a!.epoch, count: 1 }],
      );
      // Everything mallory skipped is told too, in few reports: what is kept stays bounded.
      const fromMallory = reported.filter((r) => r.sender.username === 'mallory');
      assert.equal(
        fromMallory.reduce((n, r) => n + r.count, 0),
        300,
      );
      assert.ok(fromMallory.length <= 40, `${fromMallory.length} reports`);
    });

    it('control: with the gap checks off, the same withholding goes unnoticed', async () => {
      const { clock, alice, bob } = await pair(cipherSuite, { unsafeTestingIgnoreForksAndGaps: true });
      const [m0, , m2] = await send(bob, 'one', 'two', 'three');
      await deliver([alice], m0!);
      await deliver([alice], m2!);
      await land(alice, await alice.prepareSelfUpdate(), [bob]);
      const [next] = await send(bob, 'in the new epoch');
      await deliver([alice], next!);
      clock.now += MISSING_AFTER_MS * 2;
      assert.deepEqual(await alice.takeMissingMessages(), []);
    });
  });
}
