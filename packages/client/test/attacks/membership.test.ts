// A server that tries to change who is in a conversation, or to hide who is: a ghost member
// added by a commit it forged, an extra mailbox on the routing list, and the notice of a real
// addition withheld. The real server runs behind the malicious-server harness; each test
// asserts what the members' apps show and runs again as a negative control.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import {
  ContentType,
  DeliveryKind,
  encodePrivateMessage,
  MailboxSchema,
  type Mailbox,
} from '@ghostproof/api';
import type { Alarm } from '@ghostproof/client';
import { body } from '@ghostproof/protocol';
import { eventually } from '../harness/people.js';
import { group, register, usernames, withServer } from '../harness/scenario.js';
import { attackWithControl } from '@ghostproof/testkit/attack';

function routingMismatches(alarms: readonly Alarm[]): (Alarm & { kind: 'routing-mismatch' })[] {
  return alarms.filter((a): a is Alarm & { kind: 'routing-mismatch' } => a.kind === 'routing-mismatch');
}

describe('a ghost member added by a commit the server forged', () => {
  it('every member refuses it with an invalid-commit alarm; the roster is unchanged and the conversation is replaced', async () => {
    await withServer(async (harness, people) => {
      const [alice, bob, carol] = [
        await register(harness, people, 'alice'),
        await register(harness, people, 'bob'),
        await register(harness, people, 'carol'),
      ];
      await register(harness, people, 'mallory');
      const id = await group(alice, [bob, carol]);
      // The server routes the conversation to mallory, and sends everyone a commit "adding"
      // her: a well-formed PrivateMessage for the current epoch, whose encrypted part it had
      // to make up (it holds neither the epoch's secrets nor a member's signing key).
      harness.database.addRoutingEntry(id, { username: 'mallory', deviceId: 1 });
      const epoch = harness.messagesOf(id, { kind: 'commit' }).at(-1)!.epoch! + 1n;
      const forged = encodePrivateMessage({
        groupId: Buffer.from(id, 'hex'),
        epoch,
        contentType: ContentType.Commit,
        encryptedSenderData: new Uint8Array(randomBytes(64)),
        ciphertext: new Uint8Array(randomBytes(1024)),
      });
      const eventsBefore = [alice, bob, carol].map((p) => p.rosterEvents.length);
      for (const p of [alice, bob, carol]) await harness.inject(p.name, DeliveryKind.COMMIT, forged);
      for (const [i, p] of [alice, bob, carol].entries()) {
        await eventually(() =>
          p.alarms.some((a) => a.kind === 'invalid-commit' && a.conversationId === id) ? true : undefined,
        );
        assert.deepEqual(await usernames(p, id), ['alice', 'bob', 'carol'], `${p.name}'s roster`);
        assert.ok(
          !p.rosterEvents.slice(eventsBefore[i]).some((r) => r.conversationId === id),
          `${p.name} saw no roster change`,
        );
      }
      // A member starts a reset: the conversation is replaced by one with the same people.
      const info = await eventually(async () => {
        const i = await bob.messenger.conversationInfo(id);
        return i.replacedBy ? i : undefined;
      });
      assert.equal(info.status, 'left');
      assert.deepEqual(await usernames(bob, info.replacedBy!), ['alice', 'bob', 'carol']);
    });
  });

  it('(negative control) the same addition made by a real member’s commit is what everyone would have seen', async () => {
    // Nothing can be switched off to make a forged commit verify: it would need the epoch's
    // secrets and a member's signing key. The control is the same addition without forgery,
    // which every member's app shows as "alice added mallory": membership changes, and
    // members see it, only through a member's commit.
    await withServer(async (harness, people) => {
      const [alice, bob, carol] = [
        await register(harness, people, 'alice'),
        await register(harness, people, 'bob'),
        await register(harness, people, 'carol'),
      ];
      await register(harness, people, 'mallory');
      const id = await group(alice, [bob, carol]);
      await alice.messenger.addMembers(id, ['mallory']);
      for (const p of [bob, carol]) {
        await eventually(async () => ((await usernames(p, id)).includes('mallory') ? true : undefined));
        assert.deepEqual(
          p.rosterEvents.filter((r) => r.conversationId === id).map((r) => r.event),
          [
            {
              kind: 'member-added',
              by: { username: 'alice', deviceId: 1 },
              username: 'mallory',
              deviceIds: [1],
            },
          ],
        );
        assert.deepEqual(p.alarms, []);
      }
    });
  });
});

describe('an extra mailbox added to a routing list', () => {
  attackWithControl({
    caught: 'members alarm after the next roster change, naming the extra mailbox',
    control:
      'routing check off (negative control): nobody is told while the server hands the ghost every message',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { routingCheck: true };
        const alice = await register(harness, people, 'alice', off);
        const bob = await register(harness, people, 'bob', off);
        const mallory = await register(harness, people, 'mallory');
        const id = await group(alice, [bob]);
        const ghost: Mailbox = { username: 'mallory', deviceId: 1 } as Mailbox;
        harness.database.addRoutingEntry(id, ghost);
        await alice.messenger.selfUpdate(id);
        await alice.messenger.sendText(id, 'the plan');
        await eventually(async () => ((await bob.texts(id)).includes('the plan') ? true : undefined));
        // The server delivers the conversation to mallory's mailbox (she cannot decrypt it).
        await eventually(() =>
          harness.messagesOf(id, { viewer: 'mallory', direction: 'to-client' }).length > 0 ? true : undefined,
        );
        await mallory.messenger.idle();
        assert.deepEqual(await mallory.messenger.listConversations(), []);
        await verdict({
          caught: async () => {
            for (const p of [alice, bob]) {
              const alarm = await eventually(() => routingMismatches(p.alarms)[0]);
              assert.deepEqual(alarm, {
                kind: 'routing-mismatch',
                conversationId: id,
                extra: [ghost],
                missing: [],
              });
            }
          },
          succeeded: async () => {
            await bob.messenger.idle();
            assert.deepEqual(alice.alarms, []);
            assert.deepEqual(bob.alarms, []);
          },
        });
      });
    },
  });
});

describe('the join notice of a real addition withheld', () => {
  attackWithControl({
    caught:
      'bob’s roster shows carol and "alice added carol" from the commit; the server’s lie in the routing list is alarmed',
    control:
      '(negative control) the server’s own account of the membership hides carol, and with the routing check off nothing is raised',
    run: async ({ defence, verdict }) => {
      // The roster and its events come from the commits a member processes and cannot be
      // switched off: the control is a component that would believe the server, its routing
      // list (what a messenger with server-sent member lists shows).
      await withServer(async (harness, people) => {
        const off = defence ? {} : { routingCheck: true };
        const alice = await register(harness, people, 'alice', off);
        const bob = await register(harness, people, 'bob', off);
        await register(harness, people, 'carol');
        const id = await group(alice, [bob]);
        // Everything the server says to bob about who is in the conversation leaves carol out.
        const toldBob: string[][] = [];
        harness.onServerFrame((frame, on) => {
          if (on.viewer !== 'bob' || frame.body.case !== 'response') return undefined;
          const result = frame.body.value.result;
          if (result.case !== 'routingList') return undefined;
          const members = result.value.members.filter((m) => m.username !== 'carol');
          toldBob.push(members.map((m) => m.username).sort());
          return {
            ...frame,
            body: {
              ...frame.body,
              value: {
                ...frame.body.value,
                result: { case: 'routingList', value: { ...result.value, members } },
              },
            },
          };
        });
        await alice.messenger.addMembers(id, ['carol']);
        await eventually(async () => ((await usernames(bob, id)).includes('carol') ? true : undefined));
        assert.deepEqual(
          bob.rosterEvents.filter((r) => r.conversationId === id).map((r) => r.event),
          [
            {
              kind: 'member-added',
              by: { username: 'alice', deviceId: 1 },
              username: 'carol',
              deviceIds: [1],
            },
          ],
        );
        await bob.messenger.checkRoutingList(id);
        await verdict({
          caught: async () => {
            const alarm = await eventually(() => routingMismatches(bob.alarms)[0]);
            assert.deepEqual(alarm.missing, [{ username: 'carol', deviceId: 1 }]);
          },
          succeeded: async () => {
            // What the server tells bob's device about the membership, as a client that took
            // its member list from the server would show it: no carol.
            await harness.requestAs('bob', {
              case: 'getRoutingList',
              value: { groupId: Buffer.from(id, 'hex') },
            });
            assert.deepEqual(toldBob, [['alice', 'bob']]);
            assert.deepEqual(bob.alarms, []);
          },
        });
      });
    },
  });
});

describe('the routing check on every connect, and for answers about another epoch', () => {
  attackWithControl({
    caught: 'a mailbox slipped onto the routing list with no roster change is alarmed at the next connect',
    control:
      'routing check off (negative control): after the reconnect the server still lists the ghost and nobody is told',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { routingCheck: true };
        const alice = await register(harness, people, 'alice', off);
        const bob = await register(harness, people, 'bob', off);
        const mallory = await register(harness, people, 'mallory');
        const id = await group(alice, [bob]);
        const ghost: Mailbox = { username: 'mallory', deviceId: 1 } as Mailbox;
        harness.database.addRoutingEntry(id, ghost);
        // No commit follows: only the check on connect can see it.
        await bob.restart();
        await alice.messenger.sendText(id, 'the plan');
        await eventually(async () => ((await bob.texts(id)).includes('the plan') ? true : undefined));
        // What the server now says the conversation's mailboxes are: the ghost among them.
        const told = await harness.requestAs('bob', {
          case: 'getRoutingList',
          value: { groupId: Buffer.from(id, 'hex') },
        });
        const listed =
          told.body.case === 'response' && told.body.value.result.case === 'routingList'
            ? told.body.value.result.value.members.map((m) => `${m.username}/${m.deviceId}`)
            : [];
        assert.ok(listed.includes('mallory/1'), listed.join(', '));
        await mallory.messenger.idle();
        await verdict({
          caught: async () => {
            const alarm = await eventually(() => routingMismatches(bob.alarms)[0]);
            assert.deepEqual(alarm, {
              kind: 'routing-mismatch',
              conversationId: id,
              extra: [ghost],
              missing: [],
            });
          },
          succeeded: async () => {
            await bob.messenger.idle();
            assert.deepEqual(bob.alarms, []);
          },
        });
      });
    },
  });

  attackWithControl({
    caught: 'a routing list answered for another epoch is asked again, and the ghost on it is alarmed',
    control: 'routing check off (negative control): answers for another epoch hide the ghost',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { routingCheck: true };
        const alice = await register(harness, people, 'alice');
        const bob = await register(harness, people, 'bob', off);
        await register(harness, people, 'mallory');
        const id = await group(alice, [bob]);
        const ghost = { username: 'mallory', deviceId: 1 };
        // Every routing list bob is told names a ghost and claims a past epoch: a client
        // that ignores answers about another epoch never compares it with its roster.
        let answered = 0;
        harness.onServerFrame((frame, on) => {
          if (on.viewer !== 'bob' || frame.body.case !== 'response') return undefined;
          const result = frame.body.value.result;
          if (result.case !== 'routingList') return undefined;
          answered++;
          const value = {
            ...result.value,
            epoch: result.value.epoch - 1n,
            members: [...result.value.members, create(MailboxSchema, ghost)],
          };
          return {
            ...frame,
            body: { ...frame.body, value: { ...frame.body.value, result: { case: 'routingList', value } } },
          };
        });
        await verdict({
          caught: async () => {
            await bob.messenger.checkRoutingList(id);
            const alarm = await eventually(() => routingMismatches(bob.alarms)[0]);
            assert.deepEqual(alarm.extra, [ghost]);
            assert.ok(answered > 1, 'asked again before judging');
          },
          succeeded: async () => {
            await bob.messenger.checkRoutingList(id);
            await bob.messenger.idle();
            assert.deepEqual(bob.alarms, []);
          },
        });
      });
    },
  });
});

describe('a group reset that would bring a removed member back', () => {
  attackWithControl({
    caught:
      'the server corrupts a removal for one member, whose reset re-adds the removed; the others do not follow',
    control:
      'reset roster check off (negative control): the remover is moved into a conversation with the member it removed',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { resetRosterCheck: true };
        const alice = await register(harness, people, 'alice');
        const bob = await register(harness, people, 'bob', off);
        const mallory = await register(harness, people, 'mallory');
        const id = await group(alice, [bob, mallory]);
        // alice sorts first, so her app is the one that resets after a commit it cannot process.
        harness.onServerFrame((frame, on) => {
          if (on.viewer !== 'alice' || frame.body.case !== 'delivery') return undefined;
          if (frame.body.value.kind !== DeliveryKind.COMMIT) return undefined;
          const message = new Uint8Array(frame.body.value.message);
          message[message.length - 1]! ^= 1;
          return { ...frame, body: { ...frame.body, value: { ...frame.body.value, message } } };
        });
        await bob.messenger.removeMember(id, 'mallory');
        // alice's replacement, made from her roster before the removal, holds mallory.
        const replacement = await eventually(
          async () => (await alice.messenger.conversationInfo(id)).replacedBy,
        );
        assert.ok((await usernames(alice, replacement)).includes('mallory'));
        await eventually(
          async () => (await bob.messenger.conversationInfo(replacement).catch(() => undefined)) ?? undefined,
        );
        await mallory.messenger.idle();
        await verdict({
          caught: async () => {
            const alarm = await eventually(() => bob.alarmsOf('reset-refused')[0]);
            assert.deepEqual(alarm, {
              kind: 'reset-refused',
              conversationId: replacement,
              previousConversationId: id,
              previousWasBroken: false,
              newcomers: ['mallory'],
              missing: [],
            });
            const old = await bob.messenger.conversationInfo(id);
            assert.equal(old.status, 'active');
            assert.equal(old.replacedBy, undefined);
            assert.equal((await bob.messenger.conversationInfo(replacement)).status, 'request');
            await assert.rejects(bob.messenger.sendText(replacement, 'to the team'));
          },
          succeeded: async () => {
            await eventually(async () =>
              (await bob.messenger.conversationInfo(id)).replacedBy === replacement ? true : undefined,
            );
            assert.equal((await bob.messenger.conversationInfo(replacement)).status, 'active');
            assert.deepEqual(bob.alarmsOf('reset-refused'), []);
          },
        });
      });
    },
  });
});

describe('resets the server or a member would steer', () => {
  attackWithControl({
    caught: 'a member announcing a replacement without someone, for a conversation that is fine, is refused',
    control: 'reset roster check off (negative control): bob follows it and leaves alice behind',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const alice = await register(harness, people, 'alice');
        const bob = await register(harness, people, 'bob', defence ? {} : { resetRosterCheck: true });
        const mallory = await register(harness, people, 'mallory');
        const id = await group(alice, [bob, mallory]);
        const replacement = await mallory.messenger.createGroup('', ['bob']);
        await mallory.messenger.send(replacement, body.groupReset(Buffer.from(id, 'hex')));
        await verdict({
          caught: async () => {
            const alarm = await eventually(() => bob.alarmsOf('reset-refused')[0]);
            assert.deepEqual(alarm, {
              kind: 'reset-refused',
              conversationId: replacement,
              previousConversationId: id,
              previousWasBroken: false,
              newcomers: [],
              missing: ['alice'],
            });
            assert.equal((await bob.messenger.conversationInfo(id)).status, 'active');
            await bob.messenger.sendText(id, 'still here');
            await eventually(async () => ((await alice.texts(id)).includes('still here') ? true : undefined));
          },
          succeeded: async () => {
            await eventually(async () =>
              (await bob.messenger.conversationInfo(id)).replacedBy === replacement ? true : undefined,
            );
            assert.equal((await bob.messenger.conversationInfo(id)).status, 'left');
          },
        });
      });
    },
  });

  it('a commit the server breaks for one member only: that member re-creates the conversation after a while, and the others are told, not moved', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const carol = await register(harness, people, 'carol');
      const id = await group(alice, [bob, carol]);
      let corrupted = 0;
      harness.onServerFrame((frame, on) => {
        if (on.viewer !== 'carol' || frame.body.case !== 'delivery') return undefined;
        if (frame.body.value.kind !== DeliveryKind.COMMIT || corrupted > 0) return undefined;
        corrupted++;
        const message = new Uint8Array(frame.body.value.message);
        message[message.length - 1]! ^= 1;
        return { ...frame, body: { ...frame.body, value: { ...frame.body.value, message } } };
      });
      await bob.messenger.selfUpdate(id);
      await eventually(() => (carol.alarmsOf('invalid-commit').length > 0 ? true : undefined));
      await carol.messenger.idle();
      // alice, first in the order, saw nothing wrong and does not reset; after the wait, carol does.
      assert.equal((await carol.messenger.conversationInfo(id)).replacedBy, undefined);
      carol.advanceClock(2 * 60_000 + 1000);
      const replacement = await eventually(
        async () => (await carol.messenger.conversationInfo(id)).replacedBy,
        30_000,
      );
      assert.deepEqual(await usernames(carol, replacement), ['alice', 'bob', 'carol']);
      for (const p of [alice, bob]) {
        const alarm = await eventually(() => p.alarmsOf('reset-refused')[0]);
        assert.equal(alarm.kind === 'reset-refused' && alarm.previousWasBroken, false);
        assert.equal((await p.messenger.conversationInfo(id)).status, 'active');
        assert.equal((await p.messenger.conversationInfo(replacement)).status, 'request');
      }
    });
  });
});
