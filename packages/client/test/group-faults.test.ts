// Group state that survives faults: a lookup that fails for a passing reason while a member
// processes a commit is not a forged commit. The key transparency lookup the authentication
// service makes answers 503 once (through the malicious-server harness): the member keeps
// the delivery, retries it and processes it, with no alarm and no reset. The negative
// control runs the same fault against a member that takes the failure as a verdict (the
// behaviour before this change): it alarms, resets the conversation, and loses the commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ApiError, DeliveryKind, ErrorBodySchema, MailboxSchema } from '@ghostproof/api';
import { ClientError, MemoryClientStore, Messenger } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import type { Conversation } from '@ghostproof/protocol';
import { leafIndexOf, rawState } from '../../protocol/test/helpers/raw-mls.js';
import { commitWithUnpatchedRule } from '../../protocol/test/helpers/removed-member.js';
import type { MaliciousServer } from './harness/malicious-server.js';
import type { Person } from './harness/people.js';
import { eventually } from './harness/people.js';
import { group, register, usernames, withServer } from './harness/scenario.js';

/** One 503 on `viewer`'s first key transparency lookup of `username`; counts what it refused. */
function failLookupOnce(harness: MaliciousServer, viewer: string, username: string): { refused: number } {
  const state = { refused: 0 };
  harness.onHttp((request) => {
    if (request.viewer !== viewer || request.route.name !== 'ktLookup') return undefined;
    if (request.params.username !== username || state.refused > 0) return undefined;
    state.refused++;
    return { error: new ApiError('unavailable', 'busy') };
  });
  return state;
}

describe('a lookup that fails is not a forged commit', () => {
  it('one 503 while bob processes an add commit: no alarm, no reset, processed on retry', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const carol = await register(harness, people, 'carol');
      const id = await group(alice, [bob]);
      const fault = failLookupOnce(harness, 'bob', 'carol');

      await alice.messenger.addMembers(id, ['carol']);
      await eventually(async () => ((await usernames(bob, id)).includes('carol') ? true : undefined));
      await bob.messenger.idle();
      assert.equal(fault.refused, 1, 'the fault happened');
      assert.deepEqual(await usernames(bob, id), ['alice', 'bob', 'carol']);
      assert.deepEqual(bob.alarms, []);
      const info = await bob.messenger.conversationInfo(id);
      assert.equal(info.status, 'active');
      assert.equal(info.replacedBy, undefined);
      // The group goes on for everyone: bob reads what carol writes after the add.
      await eventually(
        async () => (await carol.messenger.conversationInfo(id).catch(() => undefined)) ?? undefined,
      );
      await carol.messenger.accept(id);
      await carol.messenger.sendText(id, 'hello from carol');
      await eventually(async () => ((await bob.texts(id)).includes('hello from carol') ? true : undefined));
    });
  });

  it('while lookups keep failing, later messages wait behind the commit (no gap), the delay is told, and it survives a restart', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      await register(harness, people, 'carol');
      const id = await group(alice, [bob]);
      let refused = 0;
      let failing = true;
      harness.onHttp((request) => {
        if (!failing || request.viewer !== 'bob' || request.route.name !== 'ktLookup') return undefined;
        if (request.params.username !== 'carol') return undefined;
        refused++;
        return { error: new ApiError('unavailable', 'busy') };
      });
      const delayed: number[] = [];
      const listen = () => bob.messenger.on('delivery-delayed', ({ since }) => delayed.push(since));
      listen();

      await alice.messenger.addMembers(id, ['carol']);
      await alice.messenger.sendText(id, 'after the add');
      await eventually(() => (refused >= 2 ? true : undefined));
      bob.advanceClock(61_000);
      await eventually(() => (delayed.length > 0 ? true : undefined));
      assert.deepEqual(await bob.texts(id), [], 'the later message waits behind the commit');

      // Quit and start again while the directory still fails: the commit is kept (unacked).
      await bob.restart();
      listen();
      const before = refused;
      await eventually(() => (refused > before ? true : undefined));
      failing = false;
      await eventually(async () => ((await bob.texts(id)).includes('after the add') ? true : undefined));
      assert.deepEqual(await usernames(bob, id), ['alice', 'bob', 'carol']);
      assert.deepEqual(bob.alarms, [], 'no alarm: neither gap nor invalid-commit');
      assert.equal((await bob.messenger.conversationInfo(id)).status, 'active');
    });
  });

  it('control: taken as a verdict, the same 503 raises invalid-commit, resets the group and loses the commit', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob', { transientLookupRetry: true });
      await register(harness, people, 'carol');
      const id = await group(alice, [bob]);
      const fault = failLookupOnce(harness, 'bob', 'carol');

      await alice.messenger.addMembers(id, ['carol']);
      await eventually(() => (bob.alarmsOf('invalid-commit').length > 0 ? true : undefined));
      await bob.messenger.idle();
      assert.equal(fault.refused, 1);
      assert.deepEqual(await usernames(bob, id), ['alice', 'bob'], 'the commit is lost to bob');
      const info = await eventually(async () => {
        const current = await bob.messenger.conversationInfo(id);
        return current.status === 'left' ? current : undefined;
      });
      assert.equal(info.status, 'left');
    });
  });
});

describe('healing conversations made before the update path fix', () => {
  /** A profile as a release before the fix left it: no record of the heal. */
  function forgetHeal(person: Person): void {
    (person.store as unknown as { settings: Map<string, Uint8Array> }).settings.delete(
      'mls-update-path-heal',
    );
  }

  it('the first start after the upgrade commits once, with a path, in every active conversation', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const carol = await register(harness, people, 'carol');
      const team = await alice.messenger.createGroup('team', ['bob', 'carol']);
      const pair = await alice.messenger.direct('bob');
      for (const id of [team, pair]) {
        await eventually(
          async () => (await bob.messenger.conversationInfo(id).catch(() => undefined)) ?? undefined,
        );
        await bob.messenger.accept(id);
      }
      await eventually(
        async () => (await carol.messenger.conversationInfo(team).catch(() => undefined)) ?? undefined,
      );
      await bob.messenger.idle();
      const epochs = async () => [
        (await bob.messenger.groupCode(team)) + (await bob.messenger.members(team)).length,
        await bob.messenger.groupCode(pair),
      ];
      const before = await epochs();

      // Control: a profile made after the fix has nothing to heal; a restart commits nothing.
      await alice.restart();
      await alice.messenger.idle();
      await bob.messenger.idle();
      assert.deepEqual(await epochs(), before);

      forgetHeal(alice);
      await alice.restart();
      const commits = () =>
        [team, pair].reduce(
          (n, id) =>
            n + harness.messagesOf(id, { viewer: 'alice', direction: 'to-server', kind: 'commit' }).length,
          0,
        );
      await eventually(async () => {
        const now = await epochs();
        return now[0] !== before[0] && now[1] !== before[1] ? true : undefined;
      });
      const healed = commits();
      // Once: a later start commits nothing more.
      await alice.restart();
      await alice.messenger.idle();
      assert.equal(commits(), healed);
      assert.deepEqual(bob.alarms, []);
      assert.deepEqual(alice.alarms, []);
      await alice.messenger.sendText(team, 'still here');
      await eventually(async () => ((await carol.texts(team)).includes('still here') ? true : undefined));
    });
  });
});

describe('a commit whose Welcome the server no longer routes', () => {
  it('is rebuilt with fresh claims after unknown-key-package, not resent forever', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const id = await alice.messenger.createGroup('team', []);
      // The server refuses alice's first commit's Welcome once, as for a claim it cannot use.
      const refusedCommits: string[] = [];
      harness.onClientFrame((frame, on) => {
        if (on.viewer !== 'alice' || frame.body.case !== 'sendCommit' || refusedCommits.length > 0)
          return undefined;
        refusedCommits.push(Buffer.from(frame.body.value.commit).toString('hex'));
        return {
          answer: {
            case: 'error',
            value: create(ErrorBodySchema, { code: 'unknown-key-package', message: 'not claimed by you' }),
          },
        };
      });
      await alice.messenger.addMembers(id, ['bob']);
      assert.equal(refusedCommits.length, 1);
      const sent = harness
        .messagesOf(id, { viewer: 'alice', direction: 'to-server', kind: 'commit' })
        .map((m) => Buffer.from(m.bytes).toString('hex'));
      assert.ok(
        sent.length >= 2 && sent.at(-1) !== refusedCommits[0],
        'a new commit, not the refused one again',
      );
      await eventually(
        async () => (await bob.messenger.conversationInfo(id).catch(() => undefined)) ?? undefined,
      );
      assert.deepEqual(await usernames(alice, id), ['alice', 'bob']);
    });
  });
});

describe('a message the server withholds inside an epoch', () => {
  for (const defence of [true, false]) {
    const title = defence
      ? 'the app is told a minute later that a message of bob’s never arrived'
      : 'gap checks off (negative control): the message is gone and nothing is said';
    it(title, async () => {
      await withServer(async (harness, people) => {
        const alice = await register(harness, people, 'alice', defence ? {} : { forkAndGapDetection: true });
        const bob = await register(harness, people, 'bob');
        const id = await group(alice, [bob]);
        const missing: {
          conversationId: string;
          sender: { username: string; deviceId: number };
          count: number;
        }[] = [];
        alice.messenger.on('missing-message', (event) => missing.push(event));
        // The server hands alice every message of bob's but the second.
        let seen = 0;
        harness.onServerFrame((frame, on) => {
          if (on.viewer !== 'alice' || frame.body.case !== 'delivery') return undefined;
          if (frame.body.value.kind !== DeliveryKind.MESSAGE) return undefined;
          return ++seen === 2 ? 'drop' : undefined;
        });
        for (const text of ['one', 'two', 'three']) await bob.messenger.sendText(id, text);
        await eventually(async () => ((await alice.texts(id)).includes('three') ? true : undefined));
        assert.equal(missing.length, 0, 'not at once: it may still arrive');
        alice.advanceClock(61_000);
        await bob.messenger.sendText(id, 'four');
        await eventually(async () => ((await alice.texts(id)).includes('four') ? true : undefined));
        await alice.messenger.idle();
        assert.deepEqual(await alice.texts(id), ['one', 'three', 'four']);
        if (defence) {
          assert.deepEqual(
            missing.map((m) => ({ conversationId: m.conversationId, sender: m.sender, count: m.count })),
            [{ conversationId: id, sender: { username: 'bob', deviceId: 1 }, count: 1 }],
          );
          assert.deepEqual(alice.alarms, [], 'told, not alarmed');
        } else {
          assert.deepEqual(missing, []);
        }
      });
    });
  }
});

describe('a removal held while its lookups fail', () => {
  it('nothing new is encrypted in the epoch it ends until it is processed', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const mallory = await register(harness, people, 'mallory');
      const id = await group(alice, [bob, mallory]);
      let failing = true;
      let refused = 0;
      harness.onHttp((request) => {
        if (!failing || request.viewer !== 'bob' || request.route.name !== 'ktLookup') return undefined;
        refused++;
        return { error: new ApiError('unavailable', 'busy') };
      });
      bob.advanceClock(60_000); // past the directory's cache: the commit's credentials are looked up
      await alice.messenger.removeMember(id, 'mallory');
      await eventually(() => (refused > 0 ? true : undefined));
      // bob's message would be in the epoch mallory still holds: it is not encrypted.
      await assert.rejects(bob.messenger.sendText(id, 'now that mallory is gone: the plan'), (e) =>
        ClientError.is(e, 'verification-pending'),
      );
      failing = false;
      await eventually(async () => ((await usernames(bob, id)).includes('mallory') ? undefined : true));
      await bob.messenger.sendText(id, 'now that mallory is gone: the plan');
      await eventually(async () =>
        (await alice.texts(id)).includes('now that mallory is gone: the plan') ? true : undefined,
      );
    });
  });
});

describe('faults the review found', () => {
  for (const defence of [true, false]) {
    const title = defence
      ? 'a lookup answer cut off mid-body is retried, not judged'
      : 'taken as a verdict (negative control): the cut-off answer resets the group and loses the commit';
    it(title, async () => {
      await withServer(async (harness, people) => {
        const alice = await register(harness, people, 'alice');
        await register(harness, people, 'carol');
        let cut = 0;
        let armed = false;
        const store = new MemoryClientStore();
        const bob = await Messenger.register(
          {
            serverUrl: await harness.endpoint('bob'),
            store,
            createSocket: nodeWebSocket,
            ...(defence ? {} : { unsafeTestingDisableDefences: { transientLookupRetry: true } }),
            // The connection breaks while bob's app reads the proof for carol, once.
            fetch: async (input, init) => {
              if (
                armed &&
                cut === 0 &&
                (input instanceof Request ? input.url : input.toString()).includes('/v1/kt/lookup/carol')
              ) {
                cut++;
                const body = new ReadableStream<Uint8Array>({
                  start(controller) {
                    controller.enqueue(new Uint8Array([0x0a, 0x80, 0x01]));
                    controller.error(new TypeError('terminated'));
                  },
                });
                return new Response(body, {
                  status: 200,
                  headers: { 'content-type': 'application/x-protobuf' },
                });
              }
              return fetch(input, init);
            },
          },
          'bob',
        );
        const alarms: string[] = [];
        bob.on('alarm', (a) => alarms.push(a.kind));
        await bob.connect();
        try {
          const id = await alice.messenger.createGroup('team', ['bob']);
          await eventually(async () => (await bob.conversationInfo(id).catch(() => undefined)) ?? undefined);
          await bob.accept(id);
          await bob.idle();
          armed = true;
          await alice.messenger.addMembers(id, ['carol']);
          if (defence) {
            await eventually(async () =>
              (await bob.members(id)).some((m) => m.username === 'carol') ? true : undefined,
            );
            await bob.idle();
            assert.equal(cut, 1);
            assert.deepEqual(alarms, []);
            assert.equal((await bob.conversationInfo(id)).status, 'active');
          } else {
            await eventually(() => (alarms.includes('invalid-commit') ? true : undefined));
            assert.equal(cut, 1);
            assert.deepEqual((await bob.members(id)).map((m) => m.username).sort(), ['alice', 'bob']);
          }
        } finally {
          await bob.close();
        }
      });
    });
  }

  it('monitoring answered with 503 does not skip the heal', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const id = await group(alice, [bob]);
      let refused = 0;
      harness.onHttp((request) => {
        if (request.viewer !== 'alice' || request.route.name !== 'ktMonitor') return undefined;
        refused++;
        return { error: new ApiError('unavailable', 'busy') };
      });
      const before = await bob.messenger.groupCode(id);
      (alice.store as unknown as { settings: Map<string, Uint8Array> }).settings.delete(
        'mls-update-path-heal',
      );
      await alice.restart();
      await eventually(async () => ((await bob.messenger.groupCode(id)) !== before ? true : undefined));
      assert.ok(refused > 0, 'monitoring was refused');
      const healed = (alice.store as unknown as { settings: Map<string, Uint8Array> }).settings.get(
        'mls-update-path-heal',
      );
      assert.equal(new TextDecoder().decode(healed), '[]');
    });
  });

  it('a commit left pending from before is landed first, and the heal is still a commit with a path', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      await register(harness, people, 'carol');
      const id = await group(alice, [bob]);
      // alice's add does not land (the server is busy): it stays pending, without a path.
      const stop = harness.onClientFrame((frame, on) => {
        if (on.viewer !== 'alice' || frame.body.case !== 'sendCommit') return undefined;
        return {
          answer: { case: 'error', value: create(ErrorBodySchema, { code: 'unavailable', message: 'busy' }) },
        };
      });
      await assert.rejects(alice.messenger.addMembers(id, ['carol']));
      stop();
      const leafKey = async () => {
        const conversation = await (
          bob.messenger as unknown as { mls(id: string): Promise<Conversation> }
        ).mls(id);
        const tree = (
          conversation as unknown as { state: { ratchetTree: { leaf: { hpkePublicKey: Uint8Array } }[] } }
        ).state.ratchetTree;
        return Buffer.from(tree[0]!.leaf.hpkePublicKey).toString('hex');
      };
      const before = await leafKey();
      (alice.store as unknown as { settings: Map<string, Uint8Array> }).settings.delete(
        'mls-update-path-heal',
      );
      await alice.restart();
      await eventually(async () => ((await usernames(bob, id)).includes('carol') ? true : undefined));
      await eventually(async () => ((await leafKey()) !== before ? true : undefined));
      await bob.messenger.idle();
      assert.deepEqual(bob.alarms, []);
    });
  });
});

describe('a removal made by a client that was not upgraded', () => {
  it('is refused by the members, who re-create the group without the removed; the removed is told it was removed', async () => {
    await withServer(async (harness, people) => {
      const names = ['alice', 'bob', 'carol', 'dave'];
      for (const name of names) await register(harness, people, name);
      const [alice, bob, carol, dave] = people as [Person, Person, Person, Person];
      const id = await group(alice, [bob, carol, dave]);
      // alice's old app removes dave with rc.10's rule: no update path.
      const aliceConversation = await (
        alice.messenger as unknown as { mls(id: string): Promise<Conversation> }
      ).mls(id);
      const { commit } = await commitWithUnpatchedRule(
        rawState(aliceConversation),
        [leafIndexOf(aliceConversation, 'dave')],
        0xf00d,
      );
      const answer = await harness.requestAs('alice', {
        case: 'sendCommit',
        value: {
          clientId: crypto.getRandomValues(new Uint8Array(16)),
          commit,
          welcome: new Uint8Array(0),
          remove: [create(MailboxSchema, { username: 'dave', deviceId: 1 })],
        },
      });
      assert.equal(answer.body.case === 'response' && answer.body.value.result.case, 'accepted');

      // bob (first of those who did not make it) re-creates the group, without dave.
      const replacement = await eventually(async () => (await bob.messenger.conversationInfo(id)).replacedBy);
      assert.deepEqual(await usernames(bob, replacement), ['alice', 'bob', 'carol']);
      await eventually(async () =>
        (await carol.messenger.conversationInfo(id)).replacedBy === replacement ? true : undefined,
      );
      assert.equal((await carol.messenger.conversationInfo(replacement)).status, 'active');
      for (const p of [bob, carol]) assert.deepEqual(p.alarmsOf('invalid-commit').length, 1);
      // dave is told he was removed, without an alarm.
      await eventually(() =>
        dave.rosterEvents.some((r) => r.conversationId === id && r.event.kind === 'you-were-removed')
          ? true
          : undefined,
      );
      assert.deepEqual(dave.alarms, []);
      // Later messages of the old conversation raise nothing more.
      await bob.messenger.sendText(replacement, 'we go on here');
      await eventually(async () =>
        (await carol.texts(replacement)).includes('we go on here') ? true : undefined,
      );
      assert.deepEqual(
        carol.alarms.map((a) => a.kind),
        ['invalid-commit'],
      );
    });
  });
});
