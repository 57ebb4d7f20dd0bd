// A server that tampers with a conversation's history: different commits for one epoch shown
// to two halves of a group (a fork), a commit withheld from one member (a gap), an old message
// delivered again (a replay). The real server runs behind the malicious-server harness; each
// test asserts what the members' apps show and runs again as a negative control.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DeliveryKind, readMlsMessageHeader, type ServerFrame } from '@ghostproof/api';
import type { Alarm } from '@ghostproof/client';
import { eventually, Person } from '../harness/people.js';
import { group, register, withServer } from '../harness/scenario.js';
import { attackWithControl } from '@ghostproof/testkit/attack';

/** Waits until everyone shows the same group code, and returns it. */
async function sameCode(id: string, people: readonly Person[]): Promise<string> {
  return eventually(async () => {
    const codes = new Set(await Promise.all(people.map((p) => p.messenger.groupCode(id))));
    return codes.size === 1 ? [...codes][0] : undefined;
  });
}

/** A commit of conversation `id` delivered to one of `viewers`. */
function isCommitFor(id: string, frame: ServerFrame): boolean {
  if (frame.body.case !== 'delivery' || frame.body.value.kind !== DeliveryKind.COMMIT) return false;
  const header = readMlsMessageHeader(frame.body.value.message);
  return 'groupId' in header && Buffer.from(header.groupId).toString('hex') === id;
}

function alarmsIn(id: string, kind: Alarm['kind'], alarms: readonly Alarm[]): Alarm[] {
  return alarms.filter((a) => a.kind === kind && 'conversationId' in a && a.conversationId === id);
}

describe('different commits for one epoch sent to two halves of a group (a fork)', () => {
  attackWithControl({
    caught: 'the halves show different group codes, and a member shown both commits alarms fork',
    control: 'fork detection off (negative control): the member shown both commits stays silent in its half',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { forkAndGapDetection: true };
        const [alice, bob, carol, dave] = [
          await register(harness, people, 'alice', off),
          await register(harness, people, 'bob', off),
          await register(harness, people, 'carol', off),
          await register(harness, people, 'dave', off),
        ];
        const id = await group(alice, [bob, carol, dave]);
        const before = await sameCode(id, [alice, bob, carol, dave]);

        // Half B (carol, dave) is never shown alice's commit...
        const hideFromHalfB = harness.onServerFrame((frame, on) =>
          (on.viewer === 'carol' || on.viewer === 'dave') && isCommitFor(id, frame) ? 'drop' : undefined,
        );
        await alice.messenger.selfUpdate(id);
        const halfA = await sameCode(id, [alice, bob]);
        assert.notEqual(halfA, before);
        // ...and carol's commit for the same epoch, which the server refuses as stale, is
        // answered "accepted" in its name and shown to dave alone.
        harness.onClientFrame((frame, on) => {
          if (on.viewer !== 'carol' || frame.body.case !== 'sendCommit') return undefined;
          const commit = frame.body.value.commit;
          void harness.inject('dave', DeliveryKind.COMMIT, commit);
          const epoch = (readMlsMessageHeader(commit) as { epoch: bigint }).epoch + 1n;
          return {
            answer: {
              case: 'accepted',
              value: { messageId: new Uint8Array(randomBytes(16)), epoch, acceptedAtMs: BigInt(Date.now()) },
            },
          };
        });
        await carol.messenger.selfUpdate(id);
        const halfB = await sameCode(id, [carol, dave]);
        // What members see when they compare group codes out of band:
        assert.notEqual(halfA, halfB);
        assert.notEqual(halfB, before);

        // The server slips once: dave's mailbox still holds alice's commit, and it is
        // delivered when his app reconnects.
        hideFromHalfB();
        harness.disconnect('dave');
        await verdict({
          caught: async () => {
            await eventually(() => (alarmsIn(id, 'fork', dave.alarms).length > 0 ? true : undefined));
          },
          succeeded: async () => {
            await eventually(() =>
              harness.messagesOf(id, { viewer: 'dave', kind: 'delivered-commit' }).some((o) => !o.injected)
                ? true
                : undefined,
            );
            await dave.messenger.idle();
            assert.deepEqual(dave.alarms, []);
            assert.equal((await dave.messenger.conversationInfo(id)).status, 'active');
          },
        });
        assert.equal(await dave.messenger.groupCode(id), halfB, 'dave stays in his half');
        assert.deepEqual([...alice.alarms, ...bob.alarms], []);
      });
    },
  });
});

describe('a commit withheld from one member (a gap)', () => {
  attackWithControl({
    caught: 'the member alarms gap at the first message from the epoch it never reached',
    control: 'gap detection off (negative control): the member silently misses the message',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { forkAndGapDetection: true };
        const [alice, bob, carol] = [
          await register(harness, people, 'alice', off),
          await register(harness, people, 'bob', off),
          await register(harness, people, 'carol', off),
        ];
        const id = await group(alice, [bob, carol]);
        harness.onServerFrame((frame, on) =>
          on.viewer === 'carol' && isCommitFor(id, frame) ? 'drop' : undefined,
        );
        await alice.messenger.selfUpdate(id);
        const code = await sameCode(id, [alice, bob]);
        const seenByCarol = harness.messagesOf(id, { viewer: 'carol', kind: 'message' }).length;
        await alice.messenger.sendText(id, 'after the commit');
        await eventually(async () => ((await bob.texts(id)).includes('after the commit') ? true : undefined));
        await eventually(() =>
          harness.messagesOf(id, { viewer: 'carol', kind: 'message' }).length > seenByCarol
            ? true
            : undefined,
        );
        await carol.messenger.idle();
        await verdict({
          caught: async () => {
            await eventually(() => (alarmsIn(id, 'gap', carol.alarms).length > 0 ? true : undefined));
          },
          succeeded: async () => {
            assert.deepEqual(carol.alarms, []);
          },
        });
        assert.deepEqual(await carol.texts(id), [], 'carol never sees the message');
        assert.notEqual(await carol.messenger.groupCode(id), code);
      });
    },
  });
});

describe('a replayed old message', () => {
  it('delivered again under a fresh delivery id, it is refused with a replay alarm and shown once', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const id = await alice.messenger.direct('bob');
      await alice.messenger.sendText(id, 'pay carol 100');
      await eventually(async () => ((await bob.texts(id)).includes('pay carol 100') ? true : undefined));
      const original = harness.messagesOf(id, { viewer: 'bob', kind: 'message' })[0]!;
      await bob.messenger.idle();
      await harness.inject('bob', DeliveryKind.MESSAGE, original.bytes);
      await eventually(() => (alarmsIn(id, 'replay', bob.alarms).length > 0 ? true : undefined));
      assert.deepEqual(await bob.texts(id), ['pay carol 100']);
    });
  });

  it('(negative control) the same bytes are a message a device that never used its key shows: a profile restored from before it', async () => {
    // MLS's refusal (the message key is deleted once used) cannot be switched off. The
    // control is a device without that state: bob's profile restored from a copy taken
    // before the message, which accepts the very same replay and shows it.
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const id = await alice.messenger.direct('bob');
      await alice.messenger.sendText(id, 'hello');
      await eventually(async () => ((await bob.texts(id)).includes('hello') ? true : undefined));
      await bob.messenger.accept(id);
      await bob.messenger.idle();
      const backup = bob.copyOfProfile();
      await alice.messenger.sendText(id, 'pay carol 100');
      await eventually(async () => ((await bob.texts(id)).includes('pay carol 100') ? true : undefined));
      const original = harness.messagesOf(id, { viewer: 'bob', kind: 'message' }).at(-1)!;
      await bob.messenger.idle(); // acknowledged: the server will not deliver it again itself
      await bob.close();
      const restored = await Person.open(harness, 'bob', backup);
      people.push(restored);
      await harness.inject('bob', DeliveryKind.MESSAGE, original.bytes);
      await eventually(async () => ((await restored.texts(id)).includes('pay carol 100') ? true : undefined));
      assert.deepEqual(alarmsIn(id, 'replay', restored.alarms), []);
    });
  });
});
