// Healing groups made before the update path fix (docs/protocol.md, "The ts-mls patch"). A
// member removed by a path-less commit under rc.10's rule holds the group's current epoch; one
// empty commit, which carries a path, locks it out again, and a commit prepared under the old
// rule that still waits to be sent is dropped rather than resent. The controls show the
// removed member reading on where no heal commit was made, and the commits that are kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processMessage } from 'ts-mls-unpatched';
import { body, type Conversation } from '@ghostproof/protocol';
import { decode, defaultProposalTypes, mlsMessageDecoder } from 'ts-mls';
import {
  attemptAsRemovedMember,
  commitProposalsWithUnpatchedRule,
  commitWithUnpatchedRule,
  framedMessage,
} from './helpers/removed-member.js';
import { leafIndexOf, rawState, recordWith } from './helpers/raw-mls.js';
import { groupOf, land, suites, World } from './helpers/people.js';
import { toHex as hex } from '@ghostproof/testkit/hex';

for (const [suiteName, cipherSuite] of suites) {
  describe(`healing groups made under rc.10's rule (${suiteName})`, () => {
    it('after a path-less remove from before the upgrade, one empty commit locks the removed member out again', async () => {
      const world = new World(cipherSuite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [aliceConv, bobConv, carolConv] = ['alice/1', 'bob/1', 'carol/1'].map((k) => convs.get(k)!);
      const carolSaved = rawState(carolConv!);

      // Before the upgrade: alice removed carol under rc.10's rule; bob processed it with rc.10.
      const removal = await commitWithUnpatchedRule(
        rawState(aliceConv!),
        [leafIndexOf(aliceConv!, 'carol')],
        cipherSuite,
      );
      const bobProcessed = await processMessage({
        context: removal.context,
        state: rawState(bobConv!),
        message: framedMessage(removal.commit),
      });
      assert.equal(bobProcessed.kind, 'newState');
      const carolsEpoch = await attemptAsRemovedMember(carolSaved, removal.commit, cipherSuite);
      assert.equal(carolsEpoch.confirmationTagVerified, true, 'carol holds the current epoch');

      // The upgrade: alice's and bob's apps open the states rc.10 left.
      const reopen = async (
        device: (typeof alice.devices)[0],
        conv: Conversation,
        state: typeof carolSaved,
      ) => {
        await device.store.putConversation(conv.groupId, recordWith(conv, { state }));
        return (await device.client.conversation(conv.groupId))!;
      };
      const aliceNow = await reopen(alice.devices[0]!, aliceConv!, removal.newState);
      const bobNow = await reopen(
        bob.devices[0]!,
        bobConv!,
        bobProcessed.kind === 'newState' ? bobProcessed.newState : carolSaved,
      );

      // Control: until a commit with a path, carol reads what the group sends.
      const { message: beforeHeal } = await aliceNow.encrypt(body.text('before the heal'));
      const readBefore = await carolsEpoch.read(beforeHeal);
      assert.equal(
        readBefore?.body.case === 'text' ? readBefore.body.value.text : undefined,
        'before the heal',
      );

      // The heal: alice's app commits an empty commit (with a path) at its first start.
      const heal = await aliceNow.prepareSelfUpdate();
      await land(aliceNow, heal, [bobNow]);
      assert.equal(
        hex(rawState(aliceNow).keySchedule.exporterSecret),
        hex(rawState(bobNow).keySchedule.exporterSecret),
      );
      const afterHeal = await attemptAsRemovedMember(carolsEpoch.derived, heal.commit, cipherSuite);
      assert.equal(afterHeal.commitHasPath, true);
      assert.equal(afterHeal.pathSecretsOpened, 0);
      assert.equal(afterHeal.confirmationTagVerified, false);
      assert.notEqual(hex(afterHeal.exporterSecret), hex(rawState(bobNow).keySchedule.exporterSecret));
      const { message: after } = await bobNow.encrypt(body.text('after the heal'));
      assert.equal(await afterHeal.read(after), undefined);
      assert.equal(await carolsEpoch.read(after), undefined);
    });

    it('a pending commit saved without the path it needs is dropped at load, never resent', async () => {
      const world = new World(cipherSuite);
      const [alice, bob, carol, dave] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
        await world.person('dave'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const aliceConv = convs.get('alice/1')!;
      const device = alice.devices[0]!;
      const reload = async (record: Uint8Array) => {
        await device.store.putConversation(aliceConv.groupId, record);
        return (await device.client.conversation(aliceConv.groupId))!;
      };
      const pendingMeta = (events: unknown[]) => ({
        id: '00112233445566778899aabbccddeeff',
        epoch: aliceConv.epoch.toString(),
        routing: { add: [], remove: [] },
        events,
      });

      const removal = await commitWithUnpatchedRule(
        rawState(aliceConv),
        [leafIndexOf(aliceConv, 'carol')],
        cipherSuite,
      );
      const pathless = await reload(
        recordWith(aliceConv, {
          pending: {
            meta: pendingMeta([
              { kind: 'member-removed', by: { username: 'alice', deviceId: 1 }, username: 'carol' },
            ]),
            newState: removal.newState,
            commit: removal.commit,
          },
        }),
      );
      assert.equal(pathless.pendingCommit, undefined, 'the path-less remove is not resent');

      // Controls: an add-only commit needs no path and is kept; so is a remove with a path.
      const claimed = await world.claimKeyPackages(dave);
      const keyPackage = decode(mlsMessageDecoder, claimed.get(1)!);
      assert.ok(keyPackage?.wireformat === 5);
      const add = await commitProposalsWithUnpatchedRule(
        rawState(aliceConv),
        [{ proposalType: defaultProposalTypes.add, add: { keyPackage: keyPackage.keyPackage } }],
        cipherSuite,
      );
      const addOnly = await reload(
        recordWith(aliceConv, {
          pending: {
            meta: pendingMeta([
              {
                kind: 'member-added',
                by: { username: 'alice', deviceId: 1 },
                username: 'dave',
                deviceIds: [1],
              },
            ]),
            newState: add.newState,
            commit: add.commit,
          },
        }),
      );
      assert.equal(addOnly.pendingCommit?.id, '00112233445566778899aabbccddeeff');
      const fresh = await reload(recordWith(aliceConv, {}));
      const withPath = await fresh.prepareRemoveMembers(['carol']);
      const kept = await reload(fresh.record());
      assert.equal(kept.pendingCommit?.id, withPath.id);
    });
  });
}
