// Conversations between real protocol clients, for both ciphersuites: what each member sees.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { body, ProtocolError, type Conversation, type ProcessOutcome } from '@ghostproof/protocol';
import { deliver, groupOf, land, suites, World } from './helpers/people.js';

function textOf(outcome: ProcessOutcome | undefined): string | undefined {
  if (outcome?.kind !== 'message' || outcome.content.body.case !== 'text') return undefined;
  return outcome.content.body.value.text;
}

function get(map: Map<string, Conversation>, key: string): Conversation {
  const c = map.get(key);
  if (!c) throw new Error(`no conversation for ${key}`);
  return c;
}

for (const [suiteName, suite] of suites) {
  describe(`conversations (${suiteName})`, () => {
    it('a 1:1 conversation carries messages both ways, with the sender named', async () => {
      const world = new World(suite);
      const alice = await world.person('alice');
      const bob = await world.person('bob');
      const convs = await groupOf(world, alice, [bob], 'direct');
      const a = get(convs, 'alice/1');
      const b = get(convs, 'bob/1');
      assert.equal(b.kind, 'direct');
      const [toBob] = await deliver([b], (await a.encrypt(body.text('hello bob'))).message);
      assert.equal(textOf(toBob), 'hello bob');
      assert.deepEqual(toBob?.kind === 'message' && toBob.sender, { username: 'alice', deviceId: 1 });
      const [toAlice] = await deliver([a], (await b.encrypt(body.text('hello alice'))).message);
      assert.equal(textOf(toAlice), 'hello alice');
      assert.deepEqual(toAlice?.kind === 'message' && toAlice.sender, { username: 'bob', deviceId: 1 });
      assert.equal(await a.groupCode(), await b.groupCode());
    });

    it('a group of three people with two devices each: every device reads every other', async () => {
      const world = new World(suite);
      const alice = await world.person('alice', 2);
      const bob = await world.person('bob', 2);
      const carol = await world.person('carol', 2);
      const convs = await groupOf(world, alice, [bob, carol]);
      assert.equal(convs.size, 6);
      for (const c of convs.values()) {
        assert.deepEqual(c.members, [
          { username: 'alice', deviceIds: [1, 2] },
          { username: 'bob', deviceIds: [1, 2] },
          { username: 'carol', deviceIds: [1, 2] },
        ]);
      }
      for (const [senderKey, sender] of convs) {
        const { message } = await sender.encrypt(body.text(`from ${senderKey}`));
        for (const [receiverKey, receiver] of convs) {
          if (receiverKey === senderKey) continue;
          const outcome = await receiver.process(message);
          assert.equal(textOf(outcome), `from ${senderKey}`);
          assert.equal(
            outcome.kind === 'message' && `${outcome.sender.username}/${outcome.sender.deviceId}`,
            senderKey,
          );
        }
      }
      const codes = new Set(await Promise.all([...convs.values()].map((c) => c.groupCode())));
      assert.equal(codes.size, 1);
    });

    it('everyone sees "alice added carol" derived from the commit, and carol can then read', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob]);
      const a = get(convs, 'alice/1');
      const b = get(convs, 'bob/1');
      const { pending } = await a.prepareAddMembers([
        { username: 'carol', keyPackages: await world.claimKeyPackages(carol) },
      ]);
      assert.deepEqual(pending?.routing.add, [{ username: 'carol', deviceId: 1 }]);
      assert.deepEqual(pending?.events, [
        { kind: 'member-added', by: { username: 'alice', deviceId: 1 }, username: 'carol', deviceIds: [1] },
      ]);
      const [atBob] = await land(a, pending, [b]);
      assert.deepEqual(atBob, {
        kind: 'commit',
        epoch: a.epoch,
        events: [
          { kind: 'member-added', by: { username: 'alice', deviceId: 1 }, username: 'carol', deviceIds: [1] },
        ],
      });
      const c = await carol.devices[0]!.client.joinFromWelcome(pending.welcome!);
      assert.equal(
        textOf(await c.process((await b.encrypt(body.text('welcome carol'))).message)),
        'welcome carol',
      );
    });

    it('a removed device cannot decrypt anything from later epochs', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [a, b, c] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'carol/1')];
      const removal = await a.prepareRemoveMembers(['carol']);
      assert.deepEqual(removal.routing.remove, [{ username: 'carol', deviceId: 1 }]);
      const [atBob, atCarol] = await land(a, removal, [b, c]);
      assert.deepEqual(atBob?.kind === 'commit' && atBob.events, [
        { kind: 'member-removed', by: { username: 'alice', deviceId: 1 }, username: 'carol' },
      ]);
      assert.deepEqual(atCarol?.kind === 'commit' && atCarol.events, [
        { kind: 'you-were-removed', by: { username: 'alice', deviceId: 1 } },
      ]);
      assert.equal(c.active, false);
      // Later epochs: a self-update moves the group on; carol decrypts nothing from then on.
      await land(b, await b.prepareSelfUpdate(), [a]);
      for (const sender of [a, b]) {
        const { message } = await sender.encrypt(body.text('after carol left'));
        await assert.rejects(
          c.process(message),
          (e) => ProtocolError.is(e, 'gap') || ProtocolError.is(e, 'not-a-member'),
        );
      }
      await assert.rejects(c.encrypt(body.text('still here?')), (e) => ProtocolError.is(e, 'not-a-member'));
    });

    it('leaving is a proposal the next committer includes; everyone sees "bob left"', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [a, b, c] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'carol/1')];
      const leave = await b.proposeLeave();
      const outcomes = await deliver([a, c], leave);
      assert.deepEqual(outcomes[0], {
        kind: 'proposal',
        from: { username: 'bob', deviceId: 1 },
        leave: true,
      });
      const commit = await c.prepareSelfUpdate();
      assert.deepEqual(commit.events, [{ kind: 'member-left', username: 'bob' }]);
      // The server stops delivering to bob with this commit (else: a ghost on the routing list).
      assert.deepEqual(commit.routing.remove, [{ username: 'bob', deviceId: 1 }]);
      const [atAlice, atBob] = await land(c, commit, [a, b]);
      assert.deepEqual(atAlice?.kind === 'commit' && atAlice.events, [
        { kind: 'member-left', username: 'bob' },
      ]);
      assert.equal(atBob?.kind === 'commit' && atBob.events[0]?.kind, 'you-left');
      assert.deepEqual(
        a.members.map((m) => m.username),
        ['alice', 'carol'],
      );
    });

    it("a member's new device is added by that member's own device, shown as a new device", async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      const bobsLaptop = await world.linkDevice(bob);
      const { oneTime } = await bobsLaptop.client.generateKeyPackages(1, suite);
      // Alice may not add bob's device...
      await assert.rejects(
        a.prepareAddMembers([{ username: 'bob', keyPackages: new Map([[2, oneTime[0]!]]) }]),
        (e) => ProtocolError.is(e, 'not-allowed'),
      );
      // ...bob's own device does.
      const { pending } = await b.prepareAddOwnDevices(new Map([[2, oneTime[0]!]]));
      const [atAlice] = await land(b, pending!, [a]);
      assert.deepEqual(atAlice?.kind === 'commit' && atAlice.events, [
        { kind: 'device-added', by: { username: 'bob', deviceId: 1 }, username: 'bob', deviceId: 2 },
      ]);
      const laptop = await bobsLaptop.client.joinFromWelcome(pending!.welcome!);
      assert.equal(
        textOf(await laptop.process((await a.encrypt(body.text('hi laptop'))).message)),
        'hi laptop',
      );
    });

    it('two members commit for the same epoch: the loser discards, processes the winner and retries', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [a, b, c] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'carol/1')];
      const fromAlice = await a.prepareSelfUpdate();
      const fromBob = await b.prepareSelfUpdate();
      assert.equal(fromAlice.epoch, fromBob.epoch);
      // The server sequences alice's; bob gets stale-epoch and discards.
      await a.confirm(fromAlice.id);
      await deliver([c], fromAlice.commit);
      await b.discard(fromBob.id);
      await deliver([b], fromAlice.commit);
      const retry = await b.prepareSelfUpdate();
      assert.equal(retry.epoch, fromAlice.epoch + 1n);
      await land(b, retry, [a, c]);
      assert.equal(a.epoch, b.epoch);
      assert.equal(c.epoch, b.epoch);
      assert.equal(textOf(await a.process((await c.encrypt(body.text('in sync'))).message)), 'in sync');
    });

    it('the loser may see the winning commit before its stale-epoch answer: discarding after is harmless', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      const fromAlice = await a.prepareSelfUpdate();
      const fromBob = await b.prepareSelfUpdate();
      await a.confirm(fromAlice.id);
      // The winner arrives first (another node delivered it before this node answered).
      await deliver([b], fromAlice.commit);
      assert.equal(b.pendingCommit, undefined, 'processing the winner dropped the loser');
      await b.discard(fromBob.id);
      assert.equal(b.epoch, a.epoch);
      const retry = await b.prepareSelfUpdate();
      await land(b, retry, [a]);
      assert.equal(a.epoch, b.epoch);
    });

    it('messages encrypted concurrently each get their own key, and all decrypt', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      const sent = await Promise.all(Array.from({ length: 8 }, (_, i) => a.encrypt(body.text(`m${i}`))));
      assert.equal(new Set(sent.map((m) => Buffer.from(m.message).toString('hex'))).size, 8);
      const texts = [];
      for (const { message } of sent) texts.push(textOf(await b.process(message)));
      assert.deepEqual(texts.sort(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    });

    it('a pending commit survives a restart and is resent with the same id and bytes', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      const pending = await a.prepareSelfUpdate();
      const restarted = (await alice.devices[0]!.client.conversation(a.groupId))!;
      assert.equal(restarted.pendingCommit?.id, pending.id);
      assert.deepEqual(restarted.pendingCommit?.commit, pending.commit);
      await land(restarted, pending, [b]);
      assert.equal(
        textOf(await b.process((await restarted.encrypt(body.text('after restart'))).message)),
        'after restart',
      );
    });

    it('a client restarted mid-conversation continues it from its saved state', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      await b.process((await a.encrypt(body.text('one'))).message);
      await land(b, await b.prepareSelfUpdate(), [a]);
      const bobAgain = (await bob.devices[0]!.client.conversation(b.groupId))!;
      const aliceAgain = (await alice.devices[0]!.client.conversation(a.groupId))!;
      assert.equal(
        textOf(await bobAgain.process((await aliceAgain.encrypt(body.text('two'))).message)),
        'two',
      );
      assert.equal(
        textOf(await aliceAgain.process((await bobAgain.encrypt(body.text('three'))).message)),
        'three',
      );
      assert.deepEqual(bobAgain.members, b.members);
    });
  });
}
