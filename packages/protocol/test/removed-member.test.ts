// Removed means removed, tested as the adversary would try it: a member removed from a group
// (or a device unlinked, or a member whose leave someone committed) keeps its whole saved MLS
// state, receives the removing commit and runs its own code on it. It must not be able to
// compute the new epoch's exporter secret or epoch authenticator, nor read what is sent next.
// The negative controls make the same commits with ts-mls 2.0.0-rc.10's published rule (no
// update path for a one-member remove): the removed member then derives the group's epoch and
// reads the next message, which is the hole the patch in patches/ closes (docs/protocol.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, defaultProposalTypes, mlsMessageDecoder, processMessage } from 'ts-mls-unpatched';
import {
  body,
  ContentSchema,
  create,
  encodeContent,
  ProtocolError,
  type Conversation,
} from '@ghostproof/protocol';
import {
  attemptAsRemovedMember,
  commitProposalsWithUnpatchedRule,
  commitWithUnpatchedRule,
  framedMessage,
  sendWithUnpatched,
} from './helpers/removed-member.js';
import { attackerContext, leafIndexOf, rawState } from './helpers/raw-mls.js';
import { deliver, groupOf, land, suites, World } from './helpers/people.js';
import { toHex as hex } from '@ghostproof/testkit/hex';

function get(map: Map<string, Conversation>, key: string): Conversation {
  const c = map.get(key);
  if (!c) throw new Error(`no conversation for ${key}`);
  return c;
}

function padded(text: string): Uint8Array {
  return encodeContent(
    create(ContentSchema, {
      messageId: crypto.getRandomValues(new Uint8Array(16)),
      sentAt: BigInt(Date.now()),
      body: body.text(text),
    }),
    256 * 1024,
  );
}

async function threeMembers(cipherSuite: number, bobDevices = 1) {
  const world = new World(cipherSuite as never);
  const alice = await world.person('alice');
  const bob = await world.person('bob', bobDevices);
  const carol = await world.person('carol');
  const convs = await groupOf(world, alice, [bob, carol]);
  return { world, convs };
}

for (const [suiteName, cipherSuite] of suites) {
  describe(`a removed member keeping its state (${suiteName})`, () => {
    it('cannot compute the epoch that removed it, nor read the next message', async () => {
      const { convs } = await threeMembers(cipherSuite);
      const alice = get(convs, 'alice/1');
      const bob = get(convs, 'bob/1');
      const carol = get(convs, 'carol/1');
      const carolSaved = rawState(carol);

      const pending = await alice.prepareRemoveMembers(['carol']);
      await land(alice, pending, [bob]);
      const attempt = await attemptAsRemovedMember(carolSaved, pending.commit, cipherSuite);
      const group = rawState(bob).keySchedule;
      assert.equal(hex(rawState(alice).keySchedule.exporterSecret), hex(group.exporterSecret));

      assert.equal(attempt.commitHasPath, true, 'our one-member remove carries an update path');
      assert.equal(attempt.pathSecretsOpened, 0);
      assert.equal(attempt.confirmationTagVerified, false);
      assert.notEqual(hex(attempt.exporterSecret), hex(group.exporterSecret));
      assert.notEqual(hex(attempt.epochAuthenticator), hex(group.epochAuthenticator));
      const { message } = await bob.encrypt(body.text('after carol left'));
      assert.equal(await attempt.read(message), undefined);
      // The members themselves read it.
      const [seen] = await deliver([alice], message);
      assert.equal(seen?.kind, 'message');
    });

    it('control: with rc.10’s rule (no path) the removed member derives the epoch and reads on', async () => {
      const { convs } = await threeMembers(cipherSuite);
      const alice = get(convs, 'alice/1');
      const carol = get(convs, 'carol/1');
      const carolSaved = rawState(carol);

      const { commit, newState, context } = await commitWithUnpatchedRule(
        rawState(alice),
        [leafIndexOf(alice, 'carol')],
        cipherSuite,
      );
      const attempt = await attemptAsRemovedMember(carolSaved, commit, cipherSuite);
      assert.equal(attempt.commitHasPath, false);
      assert.equal(attempt.confirmationTagVerified, true);
      assert.equal(hex(attempt.exporterSecret), hex(newState.keySchedule.exporterSecret));
      assert.equal(hex(attempt.epochAuthenticator), hex(newState.keySchedule.epochAuthenticator));
      const next = await sendWithUnpatched(newState, context, padded('meet at noon'));
      const read = await attempt.read(next);
      assert.equal(read?.body.case, 'text');
      assert.equal(read?.body.case === 'text' ? read.body.value.text : '', 'meet at noon');
    });

    it('an unlinked device keeping its state cannot compute the next epoch', async () => {
      const { convs } = await threeMembers(cipherSuite, 2);
      const alice = get(convs, 'alice/1');
      const bob1 = get(convs, 'bob/1');
      const bob2 = get(convs, 'bob/2');
      const carol = get(convs, 'carol/1');
      const saved = rawState(bob2);
      const pending = await bob1.prepareRemoveDevices([{ username: 'bob', deviceId: 2 }]);
      await land(bob1, pending, [alice, carol]);
      const attempt = await attemptAsRemovedMember(saved, pending.commit, cipherSuite);
      assert.equal(attempt.commitHasPath, true);
      assert.equal(attempt.pathSecretsOpened, 0);
      assert.equal(attempt.confirmationTagVerified, false);
      assert.notEqual(hex(attempt.exporterSecret), hex(rawState(alice).keySchedule.exporterSecret));

      // Control: the same unlink under rc.10's rule is readable by the unlinked device.
      const { convs: again } = await threeMembers(cipherSuite, 2);
      const savedAgain = rawState(get(again, 'bob/2'));
      const bobAgain = get(again, 'bob/1');
      const control = await commitWithUnpatchedRule(
        rawState(bobAgain),
        [leafIndexOf(bobAgain, 'bob', 2)],
        cipherSuite,
      );
      const controlAttempt = await attemptAsRemovedMember(savedAgain, control.commit, cipherSuite);
      assert.equal(controlAttempt.confirmationTagVerified, true);
      assert.equal(hex(controlAttempt.exporterSecret), hex(control.newState.keySchedule.exporterSecret));
    });

    it('a member whose leave another member committed cannot compute the next epoch', async () => {
      const { convs } = await threeMembers(cipherSuite);
      const alice = get(convs, 'alice/1');
      const bob = get(convs, 'bob/1');
      const carol = get(convs, 'carol/1');
      const leave = await carol.proposeLeave();
      await deliver([alice, bob], leave);
      const carolSaved = rawState(carol);
      const pending = await alice.prepareSelfUpdate();
      await land(alice, pending, [bob]);
      assert.ok(
        pending.events.some((e) => e.kind === 'member-left' && e.username === 'carol'),
        'the commit covers carol’s leave',
      );
      const attempt = await attemptAsRemovedMember(carolSaved, pending.commit, cipherSuite);
      assert.equal(attempt.commitHasPath, true);
      assert.equal(attempt.pathSecretsOpened, 0);
      assert.equal(attempt.confirmationTagVerified, false);
      assert.notEqual(hex(attempt.exporterSecret), hex(rawState(bob).keySchedule.exporterSecret));
      assert.notEqual(hex(attempt.epochAuthenticator), hex(rawState(bob).keySchedule.epochAuthenticator));
    });

    it('control: a leave committed under rc.10’s rule is readable by the leaver', async () => {
      const { convs } = await threeMembers(cipherSuite);
      const alice = get(convs, 'alice/1');
      const carol = get(convs, 'carol/1');
      const leave = await carol.proposeLeave();
      await deliver([alice], leave);
      const carolSaved = rawState(carol);
      // No extra proposals: rc.10 commits the pending leave by reference, with no path.
      const { commit, newState } = await commitWithUnpatchedRule(rawState(alice), [], cipherSuite);
      const attempt = await attemptAsRemovedMember(carolSaved, commit, cipherSuite);
      assert.equal(attempt.commitHasPath, false);
      assert.equal(attempt.confirmationTagVerified, true);
      assert.equal(hex(attempt.exporterSecret), hex(newState.keySchedule.exporterSecret));
    });
  });

  describe(`a removal whose leaf an add refills (${suiteName})`, () => {
    it('the leaver sees "you left", not invalid-commit, and cannot compute the epoch', async () => {
      const world = new World(cipherSuite);
      const [alice, bob, carol, dave] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
        await world.person('dave'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [a, b, c] = ['alice/1', 'bob/1', 'carol/1'].map((k) => get(convs, k));
      // bob leaves; alice's next commit adds dave, who takes bob's freed leaf, and carries the leave.
      await deliver([a!, c!], await b!.proposeLeave());
      const bobSaved = rawState(b!);
      const { pending } = await a!.prepareAddMembers([
        { username: 'dave', keyPackages: await world.claimKeyPackages(dave) },
      ]);
      await land(a!, pending!, [c!]);
      assert.equal(leafIndexOf(a!, 'dave'), bobSaved.privatePath.leafIndex, 'dave took bob’s leaf');
      const outcome = await b!.process(pending!.commit);
      assert.equal(outcome.kind, 'commit');
      assert.ok(outcome.kind === 'commit' && outcome.events.some((e) => e.kind === 'you-left'));
      assert.equal(b!.broken, false, 'no reset');
      assert.equal(b!.active, false);
      const attempt = await attemptAsRemovedMember(bobSaved, pending!.commit, cipherSuite);
      assert.equal(attempt.pathSecretsOpened, 0);
      assert.equal(attempt.confirmationTagVerified, false);
      // Control: rc.10's receiving side takes bob for a remaining member and fails on the path.
      await assert.rejects(
        processMessage({
          context: await attackerContext(cipherSuite),
          state: bobSaved,
          message: framedMessage(pending!.commit),
        }),
        /No overlap between provided private keys and update path/,
      );
    });

    it('control: rc.10’s sender encrypts the path to the removed member’s old leaf key; it derives the epoch', async () => {
      const world = new World(cipherSuite);
      const [alice, bob, carol, dave] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
        await world.person('dave'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [a, b, c] = ['alice/1', 'bob/1', 'carol/1'].map((k) => get(convs, k));
      await deliver([a!, c!], await b!.proposeLeave());
      const bobSaved = rawState(b!);
      const claimed = await world.claimKeyPackages(dave);
      const keyPackage = decode(mlsMessageDecoder, claimed.get(1)!);
      assert.ok(keyPackage?.wireformat === 5);
      // A self-update that also adds dave: it carries a path (under any rule) and bob's leave.
      const { commit, newState } = await commitProposalsWithUnpatchedRule(
        rawState(a!),
        [
          { proposalType: defaultProposalTypes.add, add: { keyPackage: keyPackage.keyPackage } },
          { proposalType: defaultProposalTypes.remove, remove: { removed: leafIndexOf(a!, 'carol') } },
        ],
        cipherSuite,
      );
      const attempt = await attemptAsRemovedMember(bobSaved, commit, cipherSuite);
      assert.equal(attempt.commitHasPath, true);
      assert.ok(attempt.pathSecretsOpened > 0, 'the path secret was encrypted to bob’s old key');
      assert.equal(attempt.confirmationTagVerified, true);
      assert.equal(hex(attempt.exporterSecret), hex(newState.keySchedule.exporterSecret));
    });
  });

  describe(`one-member removes and the update path (${suiteName})`, () => {
    it('members refuse a remove commit without an update path (invalid-commit, state kept)', async () => {
      const { convs } = await threeMembers(cipherSuite);
      const alice = get(convs, 'alice/1');
      const bob = get(convs, 'bob/1');
      const epoch = bob.epoch;
      const before = hex(rawState(bob).keySchedule.epochAuthenticator);
      const { commit } = await commitWithUnpatchedRule(
        rawState(alice),
        [leafIndexOf(alice, 'carol')],
        cipherSuite,
      );
      await assert.rejects(bob.process(commit), (e) => ProtocolError.is(e, 'invalid-commit'));
      assert.equal(bob.epoch, epoch);
      assert.equal(hex(rawState(bob).keySchedule.epochAuthenticator), before);
      // Control: rc.10's receiving side accepts the same bytes and moves on without a path.
      const context = await attackerContext(cipherSuite);
      const accepted = await processMessage({
        context,
        state: rawState(get(convs, 'bob/1')),
        message: framedMessage(commit),
      });
      assert.equal(accepted.kind, 'newState');
      assert.equal(accepted.kind === 'newState' ? accepted.newState.groupContext.epoch : 0n, epoch + 1n);
    });

    it('a removal shown to the removed member alone is a fork when another commit for that epoch arrives', async () => {
      for (const ignore of [false, true]) {
        const world = new World(cipherSuite, ignore ? { unsafeTestingIgnoreForksAndGaps: true } : {});
        const [alice, bob, carol] = [
          await world.person('alice'),
          await world.person('bob'),
          await world.person('carol'),
        ];
        const convs = await groupOf(world, alice, [bob, carol]);
        const [a, b, c] = ['alice/1', 'bob/1', 'carol/1'].map((k) => get(convs, k));
        // The server sequences bob's update for this epoch, but shows carol alice's removal of her.
        const removal = await a!.prepareRemoveMembers(['carol']);
        const update = await b!.prepareSelfUpdate();
        await c!.process(removal.commit);
        assert.equal(c!.active, false);
        if (!ignore) {
          await assert.rejects(c!.process(update.commit), (e) => ProtocolError.is(e, 'fork'));
        } else {
          // Control, fork checks off: the removed member takes it as none of its business.
          await assert.rejects(c!.process(update.commit), (e) => ProtocolError.is(e, 'not-a-member'));
        }
      }
    });

    it('the removed member sees "you were removed": no alarm, no reset', async () => {
      const { convs } = await threeMembers(cipherSuite);
      const alice = get(convs, 'alice/1');
      const bob = get(convs, 'bob/1');
      const carol = get(convs, 'carol/1');
      const pending = await alice.prepareRemoveMembers(['carol']);
      await land(alice, pending, [bob]);
      const outcome = await carol.process(pending.commit);
      assert.equal(outcome.kind, 'commit');
      assert.deepEqual(outcome.kind === 'commit' ? outcome.events : [], [
        { kind: 'you-were-removed', by: { username: 'alice', deviceId: 1 } },
      ]);
      assert.equal(carol.active, false);
      assert.equal(carol.broken, false, 'no group reset is started');
      await assert.rejects(carol.encrypt(body.text('still here?')), (e) =>
        ProtocolError.is(e, 'not-a-member'),
      );
    });
  });
}
