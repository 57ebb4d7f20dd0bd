// A Welcome names its conversation's group id itself. Two attacks on that, both found in
// review: a removed member (or anyone) builds a group of its own under an existing
// conversation's id and invites its members, whose apps would swap the conversation for it
// silently; and the server replays an old Welcome (a last-resort key package makes it
// decryptable again), rolling a member back so that messages it already read are accepted
// again. Both are refused as `conflicting-welcome`; the controls run the same Welcomes with
// the check off and show the conversation replaced and the replay accepted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { body, ProtocolError, type Conversation } from '@ghostproof/protocol';
import { groupOf, land, suites, World, type Person } from './helpers/people.js';

/** Runs `make` with the next 32 random bytes asked for (a new group id) set to `groupId`. */
async function withGroupId<T>(groupId: Uint8Array, make: () => Promise<T>): Promise<T> {
  const target = crypto as unknown as { getRandomValues(array: Uint8Array): Uint8Array };
  const real = target.getRandomValues.bind(crypto);
  let used = false;
  target.getRandomValues = (array: Uint8Array): Uint8Array => {
    if (!used && array instanceof Uint8Array && array.length === 32) {
      used = true;
      array.set(groupId);
      return array;
    }
    return real(array);
  };
  try {
    return await make();
  } finally {
    target.getRandomValues = real;
  }
}

async function setUp(cipherSuite: number, options: { unsafe?: boolean } = {}) {
  const world = new World(cipherSuite as never);
  const people: Person[] = [];
  for (const name of ['alice', 'bob', 'mallory']) people.push(await world.person(name));
  const [alice, bob, mallory] = people as [Person, Person, Person];
  if (options.unsafe) {
    // Bob's app with the check off (the control): a client as it was before.
    const { ProtocolClient, MemoryProtocolStore } = await import('@ghostproof/protocol');
    const store = new MemoryProtocolStore();
    const client = await ProtocolClient.create({
      device: bob.devices[0]!.identity,
      directory: world.directory,
      store,
      unsafeTestingAcceptConflictingWelcomes: true,
    });
    bob.devices[0] = { identity: bob.devices[0]!.identity, client, store };
  }
  const convs = await groupOf(world, alice, [bob, mallory]);
  return { world, alice, bob, mallory, convs };
}

for (const [suiteName, cipherSuite] of suites) {
  describe(`Welcomes that name a conversation already held (${suiteName})`, () => {
    for (const defence of [true, false]) {
      const title = defence
        ? 'a removed member’s own group under the conversation’s id is refused; the conversation stays'
        : 'control, check off: the removed member’s group replaces the conversation and she reads on';
      it(title, async () => {
        const { world, bob, mallory, convs } = await setUp(cipherSuite, { unsafe: !defence });
        const aliceConv = convs.get('alice/1')!;
        const bobConv = convs.get('bob/1')!;
        await land(aliceConv, await aliceConv.prepareRemoveMembers(['mallory']), [bobConv]);
        // Mallory, outside now, makes a group of her own with the conversation's id and invites bob.
        const fake: Conversation = await withGroupId(bobConv.groupId, () =>
          mallory.devices[0]!.client.createConversation({ cipherSuite }),
        );
        const { pending } = await fake.prepareAddMembers([
          { username: 'bob', keyPackages: await world.claimKeyPackages(bob) },
        ]);
        await fake.confirm(pending!.id);
        const joining = bob.devices[0]!.client.joinFromWelcome(pending!.welcome!);
        if (defence) {
          await assert.rejects(joining, (e) => {
            assert.ok(ProtocolError.is(e, 'conflicting-welcome'));
            assert.deepEqual(e.groupId, bobConv.groupId);
            return true;
          });
          const kept = (await bob.devices[0]!.client.conversation(bobConv.groupId))!;
          assert.deepEqual(kept.members.map((m) => m.username).sort(), ['alice', 'bob']);
          assert.equal(kept.epoch, bobConv.epoch);
        } else {
          const swapped = await joining;
          assert.deepEqual(swapped.members.map((m) => m.username).sort(), ['bob', 'mallory']);
          const { message } = await swapped.encrypt(body.text('for alice only'));
          const [read] = [await fake.process(message)];
          assert.equal(
            read.kind === 'message' && read.content.body.case === 'text' && read.content.body.value.text,
            'for alice only',
          );
        }
      });
    }

    for (const defence of [true, false]) {
      const title = defence
        ? 'an old Welcome replayed is refused; a message already read stays a replay'
        : 'control, check off: the replayed Welcome rolls bob back and the old message is accepted again';
      it(title, async () => {
        const world = new World(cipherSuite);
        const alice = await world.person('alice');
        const bob = await world.person('bob');
        if (!defence) {
          const { ProtocolClient, MemoryProtocolStore } = await import('@ghostproof/protocol');
          const store = new MemoryProtocolStore();
          const client = await ProtocolClient.create({
            device: bob.devices[0]!.identity,
            directory: world.directory,
            store,
            unsafeTestingAcceptConflictingWelcomes: true,
          });
          bob.devices[0] = { identity: bob.devices[0]!.identity, client, store };
        }
        const aliceConv = await alice.devices[0]!.client.createConversation({ cipherSuite });
        // A last-resort package: its private key stays, so the same Welcome decrypts again.
        const { lastResort } = await bob.devices[0]!.client.generateKeyPackages(0, cipherSuite);
        const { pending } = await aliceConv.prepareAddMembers([
          { username: 'bob', keyPackages: new Map([[1, lastResort]]) },
        ]);
        await aliceConv.confirm(pending!.id);
        const bobConv = await bob.devices[0]!.client.joinFromWelcome(pending!.welcome!);
        const { message } = await aliceConv.encrypt(body.text('pay 100 to mallory'));
        assert.equal((await bobConv.process(message)).kind, 'message');
        await assert.rejects(bobConv.process(message), (e) => ProtocolError.is(e, 'replay'));
        const replayed = bob.devices[0]!.client.joinFromWelcome(pending!.welcome!);
        if (defence) {
          await assert.rejects(replayed, (e) => ProtocolError.is(e, 'conflicting-welcome'));
          const kept = (await bob.devices[0]!.client.conversation(bobConv.groupId))!;
          await assert.rejects(kept.process(message), (e) => ProtocolError.is(e, 'replay'));
        } else {
          const rolledBack = await replayed;
          assert.equal((await rolledBack.process(message)).kind, 'message', 'the old message again');
        }
      });
    }

    it('a member removed earlier who is added again joins by a newer Welcome', async () => {
      const { world, mallory, convs } = await setUp(cipherSuite);
      const aliceConv = convs.get('alice/1')!;
      const bobConv = convs.get('bob/1')!;
      const malloryConv = convs.get('mallory/1')!;
      const removal = await aliceConv.prepareRemoveMembers(['mallory']);
      await land(aliceConv, removal, [bobConv, malloryConv]);
      assert.equal(malloryConv.active, false);
      const { pending } = await aliceConv.prepareAddMembers([
        { username: 'mallory', keyPackages: await world.claimKeyPackages(mallory) },
      ]);
      await land(aliceConv, pending!, [bobConv]);
      const again = await mallory.devices[0]!.client.joinFromWelcome(pending!.welcome!);
      assert.equal(again.active, true);
      assert.equal(await again.groupCode(), await bobConv.groupCode());
    });
  });
}
