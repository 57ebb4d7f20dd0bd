// Who a group's admins are: a list in the group's MLS context, changed only by an admin's
// commit, that a joiner reads from its Welcome. Before, admins travelled as content messages
// and a member without a list (every joiner) took the first sender's: whoever spoke first
// became its admin. The real server runs behind the malicious-server harness, which holds or
// drops deliveries to set up races and speaks in a member's name; each attack also runs as a
// negative control.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryKind } from '@ghostproof/api';
import { body, ProtocolError } from '@ghostproof/protocol';
import type { MaliciousServer } from '../harness/malicious-server.js';
import type { Person } from '../harness/people.js';
import { eventually } from '../harness/people.js';
import { group, joined, register, withServer } from '../harness/scenario.js';
import { sendRawSettingsCommit } from '../harness/raw-settings.js';

async function adminsOf(person: Person, id: string): Promise<string[]> {
  return [...(await person.messenger.settings(id)).admins];
}

/**
 * Holds back deliveries of `kind` in conversation `id` from `viewer`; `release` stops holding
 * and hands the held ones over (the server, which never had them acked, would also send them
 * again at the next connection; the viewer drops that second copy).
 */
function hold(harness: MaliciousServer, viewer: string, id: string, kind: DeliveryKind) {
  const groupId = Buffer.from(id, 'hex');
  const held: Uint8Array[] = [];
  const stop = harness.onServerFrame((frame, on) => {
    if (on.viewer !== viewer || frame.body.case !== 'delivery' || frame.body.value.kind !== kind)
      return undefined;
    // A Delivery's message is an MLSMessage whose header names the group.
    if (!Buffer.from(frame.body.value.message).includes(groupId)) return undefined;
    held.push(frame.body.value.message);
    return 'drop';
  });
  return {
    async release(): Promise<void> {
      stop();
      for (const message of held.splice(0)) await harness.inject(viewer, kind, message);
    },
  };
}

describe('a joiner gets the admin list from its Welcome', () => {
  for (const defence of [true, false]) {
    const label = defence
      ? 'a member added after the list was set holds the same list as everyone, with no message from anyone'
      : 'negative control: with admins sent as messages (as before), the joiner knows no admin until someone speaks';
    it(label, async () => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { authenticatedAdmins: true };
        const [alice, bob, mallory, carol] = [
          await register(harness, people, 'alice', off),
          await register(harness, people, 'bob', off),
          await register(harness, people, 'mallory', off),
          await register(harness, people, 'carol', off),
        ];
        const id = await group(alice, [bob, mallory]);
        await alice.messenger.setAdmins(id, ['alice', 'bob']);
        for (const p of [bob, mallory]) {
          await eventually(async () =>
            (await p.messenger.conversationInfo(id)).admins.length === 2 ? true : undefined,
          );
        }
        // No application message reaches carol: whatever she knows comes from her Welcome.
        const held = hold(harness, 'carol', id, DeliveryKind.MESSAGE);
        await alice.messenger.addMembers(id, ['carol']);
        const info = await joined(carol, id);
        assert.deepEqual(harness.messagesOf(id, { viewer: 'carol', kind: 'message' }), []);
        if (defence) {
          assert.deepEqual(info.admins, ['alice', 'bob']);
          for (const p of [alice, bob, mallory, carol])
            assert.deepEqual(await adminsOf(p, id), ['alice', 'bob']);
        } else {
          assert.deepEqual(info.admins, []);
        }
        await held.release();
      });
    });
  }
});

describe('a groupAdmins message from a member who is not an admin ("first sender wins")', () => {
  for (const defence of [true, false]) {
    const label = defence ? 'changes nobody’s admins' : 'makes her the joiner’s admin (negative control)';
    it(`${label}`, async () => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { authenticatedAdmins: true };
        const [alice, bob, mallory, carol] = [
          await register(harness, people, 'alice', off),
          await register(harness, people, 'bob', off),
          await register(harness, people, 'mallory', off),
          await register(harness, people, 'carol', off),
        ];
        const id = await group(alice, [bob, mallory]);
        await alice.messenger.addMembers(id, ['carol']);
        await joined(carol, id);
        await carol.messenger.accept(id);
        // mallory speaks to the joiner first, then says hello (which arrives after the claim).
        await mallory.messenger.send(id, body.groupAdmins(['mallory']));
        await mallory.messenger.sendText(id, 'hello');
        for (const p of [bob, carol]) {
          await eventually(async () => ((await p.texts(id)).includes('hello') ? true : undefined));
        }
        const views = {
          bob: (await bob.messenger.conversationInfo(id)).admins,
          carol: (await carol.messenger.conversationInfo(id)).admins,
        };
        if (defence) {
          assert.deepEqual(views, { bob: ['alice'], carol: ['alice'] });
          for (const p of [alice, bob, mallory, carol]) assert.deepEqual(await adminsOf(p, id), ['alice']);
        } else {
          // The old path: the joiner took the first list it was sent, and the views differ.
          assert.deepEqual(views, { bob: ['alice'], carol: ['mallory'] });
        }
      });
    });
  }
});

describe('an admin change racing an add for the same epoch', () => {
  for (const first of ['add', 'admins'] as const) {
    it(`${first === 'add' ? 'the add' : 'the admin change'} wins the compare-and-set; the other retries; every member, the joiner included, holds the same admins`, async () => {
      await withServer(async (harness, people) => {
        const [alice, bob, carol] = [
          await register(harness, people, 'alice'),
          await register(harness, people, 'bob'),
          await register(harness, people, 'carol'),
        ];
        const id = await group(alice, [bob]);
        // The epoch both will commit for: the one after the group's last commit.
        const epoch = harness.messagesOf(id, { kind: 'commit' }).at(-1)!.epoch! + 1n;
        // The loser does not see the winner's commit until it has sent its own for the same
        // epoch and been told stale-epoch.
        const loser = first === 'add' ? alice : bob;
        const held = hold(harness, loser.name, id, DeliveryKind.COMMIT);
        const admins = () => alice.messenger.setAdmins(id, ['alice', 'bob']);
        const add = () => bob.messenger.addMembers(id, ['carol']);
        await (first === 'add' ? add() : admins());
        const losing = first === 'add' ? admins() : add();
        await eventually(() =>
          harness
            .messagesOf(id, { kind: 'commit', viewer: loser.name, direction: 'to-server' })
            .some((c) => c.epoch === epoch)
            ? true
            : undefined,
        );
        await held.release();
        await losing;
        // Both committed for the same epoch: the server took one, the other retried.
        const sent = harness.messagesOf(id, { kind: 'commit', direction: 'to-server' });
        assert.deepEqual([...new Set(sent.filter((c) => c.epoch === epoch).map((c) => c.viewer))].sort(), [
          'alice',
          'bob',
        ]);
        await joined(carol, id);
        for (const p of [alice, bob, carol]) {
          await eventually(async () => ((await adminsOf(p, id)).length === 2 ? true : undefined));
          assert.deepEqual(await adminsOf(p, id), ['alice', 'bob']);
          assert.deepEqual((await p.messenger.conversationInfo(id)).admins, ['alice', 'bob']);
        }
        assert.equal(
          new Set(await Promise.all([alice, bob, carol].map((p) => p.messenger.groupCode(id)))).size,
          1,
        );
        for (const p of [alice, bob, carol]) assert.deepEqual(p.alarms, []);
      });
    });
  }
});

describe('a settings commit from a member who is not an admin', () => {
  it('is refused by every member (invalid-commit); admins unchanged. Control: the same commit from an admin is taken', async () => {
    await withServer(async (harness, people) => {
      const [alice, bob, mallory] = [
        await register(harness, people, 'alice'),
        await register(harness, people, 'bob'),
        await register(harness, people, 'mallory'),
      ];
      const id = await group(alice, [bob, mallory]);
      // The honest SDK refuses before any commit exists.
      await assert.rejects(mallory.messenger.setAdmins(id, ['mallory']), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
      // mallory's own code makes the commit anyway, from her saved state, and sends it.
      await sendRawSettingsCommit(harness, 'mallory', mallory.store, id, {
        kind: 'group',
        admins: ['mallory'],
        disappearingSeconds: 0,
      });
      for (const p of [alice, bob]) {
        await eventually(() =>
          p.alarms.some((a) => a.kind === 'invalid-commit' && a.conversationId === id) ? true : undefined,
        );
        assert.deepEqual(await adminsOf(p, id), ['alice']);
      }
    });
    // Control: the same commit, made the same way, from an admin's device, is taken.
    await withServer(async (harness, people) => {
      const [alice, bob, mallory] = [
        await register(harness, people, 'alice'),
        await register(harness, people, 'bob'),
        await register(harness, people, 'mallory'),
      ];
      const id = await group(alice, [bob, mallory]);
      await sendRawSettingsCommit(harness, 'alice', alice.store, id, {
        kind: 'group',
        admins: ['alice', 'mallory'],
        disappearingSeconds: 0,
      });
      for (const p of [bob, mallory]) {
        await eventually(async () => ((await adminsOf(p, id)).length === 2 ? true : undefined));
        assert.deepEqual(await adminsOf(p, id), ['alice', 'mallory']);
        assert.deepEqual(p.alarms, []);
      }
    });
  });
});
