// Conversation settings (kind, admins, disappearing timer) in the MLS group context: the
// codec, who may change what, what a joiner reads from its Welcome, a settings commit racing
// an add, and commits members refuse although ts-mls alone would accept them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createCommit,
  decode,
  defaultProposalTypes,
  encode,
  makeCustomExtension,
  mlsMessageDecoder,
  mlsMessageEncoder,
  processMessage,
  wireformats,
  type GroupContextExtension,
} from 'ts-mls';
import {
  body,
  decodeSettings,
  effectiveDisappearingSeconds,
  encodeSettings,
  MAX_ADMINS,
  ProtocolError,
  type Conversation,
  type ProcessOutcome,
} from '@ghostproof/protocol';
import { deliver, groupOf, land, suites, World } from './helpers/people.js';
import { attackerContext, rawState, recordWithRawState } from './helpers/raw-mls.js';

const CONVERSATION_EXTENSION = 0xff00;

function get(map: Map<string, Conversation>, key: string): Conversation {
  const c = map.get(key);
  if (!c) throw new Error(`no conversation for ${key}`);
  return c;
}

const view = (c: Conversation) => {
  const { kind, admins, disappearingSeconds } = c.settings;
  return { kind, admins: [...admins], disappearingSeconds };
};

/** invalid-commit because a Ghostproof rule refused the commit (not because it failed to decrypt). */
const refusedByPolicy = (err: unknown) =>
  ProtocolError.is(err, 'invalid-commit') && err.message.startsWith('commit refused:');

/** A GroupContextExtensions commit made with ts-mls directly, as a malicious member would. */
async function rawSettingsCommit(from: Conversation, cipherSuite: number, data: Uint8Array) {
  const extensions: GroupContextExtension[] = [
    makeCustomExtension({ extensionType: CONVERSATION_EXTENSION, extensionData: data }),
  ];
  const { commit } = await createCommit({
    context: await attackerContext(cipherSuite),
    state: rawState(from),
    extraProposals: [
      { proposalType: defaultProposalTypes.group_context_extensions, groupContextExtensions: { extensions } },
    ],
  });
  return encode(mlsMessageEncoder, commit);
}

describe('conversation settings codec', () => {
  it('round-trips kind, admins and timer; the kind stays the first byte for readers of the old form', () => {
    const settings = { kind: 'group' as const, admins: ['alice', 'bob'], disappearingSeconds: 60 };
    const bytes = encodeSettings(settings);
    assert.deepEqual(decodeSettings(bytes), settings);
    assert.equal(bytes[0], 2);
    assert.deepEqual(decodeSettings(encodeSettings({ kind: 'direct', admins: [], disappearingSeconds: 0 })), {
      kind: 'direct',
      admins: [],
      disappearingSeconds: 0,
    });
  });

  it('reads the one-byte data of groups made before settings as "kind only, no admins or timer yet"', () => {
    assert.deepEqual(decodeSettings(Uint8Array.of(2)), { kind: 'group', admins: [], disappearingSeconds: 0 });
    assert.deepEqual(decodeSettings(Uint8Array.of(1)), {
      kind: 'direct',
      admins: [],
      disappearingSeconds: 0,
    });
  });

  it('encodes admins in canonical form: case-folded, unique, ascending', () => {
    const bytes = encodeSettings({ kind: 'group', admins: ['Bob', 'alice', 'bob'], disappearingSeconds: 0 });
    assert.deepEqual(decodeSettings(bytes).admins, ['alice', 'bob']);
  });

  it('refuses anything it could not have written, and anything over the size limit before parsing', () => {
    const good = encodeSettings({ kind: 'group', admins: ['alice', 'bob'], disappearingSeconds: 60 });
    const malformed = (bytes: Uint8Array) =>
      assert.throws(
        () => decodeSettings(bytes),
        (err: unknown) => ProtocolError.is(err, 'malformed') || ProtocolError.is(err, 'too-large'),
      );
    malformed(new Uint8Array(0));
    malformed(Uint8Array.of(3)); // unknown kind
    malformed(Uint8Array.of(...good, 0)); // trailing byte
    malformed(good.slice(0, -1)); // truncated
    const otherFormat = good.slice();
    otherFormat[1] = 2;
    malformed(otherFormat);
    // "bob" before "alice": not canonical.
    const unsorted = Uint8Array.of(
      2,
      1,
      0,
      0,
      0,
      0,
      2,
      3,
      ...new TextEncoder().encode('bob'),
      5,
      ...new TextEncoder().encode('alice'),
    );
    malformed(unsorted);
    const upper = Uint8Array.of(2, 1, 0, 0, 0, 0, 1, 5, ...new TextEncoder().encode('Alice'));
    malformed(upper);
    const tooLong = Uint8Array.of(2, 1, 0xff, 0xff, 0xff, 0xff, 0);
    malformed(tooLong); // a timer beyond 365 days
    assert.throws(
      () => decodeSettings(new Uint8Array(4096)),
      (err: unknown) => ProtocolError.is(err, 'too-large'),
    );
    const many = Array.from({ length: MAX_ADMINS + 1 }, (_, i) => `user${String(i).padStart(3, '0')}`);
    assert.throws(() => encodeSettings({ kind: 'group', admins: many, disappearingSeconds: 0 }));
  });

  it('a message is kept under the stricter (shorter, non-zero) of the two timers', () => {
    assert.equal(effectiveDisappearingSeconds(0, 0), 0);
    assert.equal(effectiveDisappearingSeconds(60, 0), 60);
    assert.equal(effectiveDisappearingSeconds(0, 60), 60);
    assert.equal(effectiveDisappearingSeconds(60, 3600), 60);
    assert.equal(effectiveDisappearingSeconds(3600, 60), 60);
  });
});

for (const [suiteName, suite] of suites) {
  describe(`conversation settings (${suiteName})`, () => {
    it('a joiner reads the admins and timer from its Welcome, as every member holds them, with no message from anyone', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob]);
      const a = get(convs, 'alice/1');
      const b = get(convs, 'bob/1');
      assert.deepEqual(view(a), { kind: 'group', admins: ['alice'], disappearingSeconds: 0 });
      assert.deepEqual(view(b), view(a), 'the creator is admin from the creation, for everyone');

      const timer = await a.prepareUpdateSettings({ disappearingSeconds: 60 });
      assert.deepEqual(timer.events, [
        { kind: 'settings-changed', by: { username: 'alice', deviceId: 1 }, disappearingSeconds: 60 },
      ]);
      const [atBob] = await land(a, timer, [b]);
      assert.deepEqual(atBob?.kind === 'commit' && atBob.events, timer.events);

      const { pending } = await a.prepareAddMembers([
        { username: 'carol', keyPackages: await world.claimKeyPackages(carol) },
      ]);
      await land(a, pending!, [b]);
      const c = await carol.devices[0]!.client.joinFromWelcome(pending!.welcome!);
      const expected = { kind: 'group', admins: ['alice'], disappearingSeconds: 60 };
      for (const member of [a, b, c]) assert.deepEqual(view(member), expected);

      // Every message carries the sender's timer too.
      for (const [sender, receivers] of [
        [a, [b, c]],
        [b, [a, c]],
      ] as const) {
        for (const outcome of await deliver(receivers, (await sender.encrypt(body.text('hi'))).message)) {
          assert.equal(outcome.kind === 'message' && outcome.content.expiresInSeconds, 60);
        }
      }
    });

    for (const winner of ['add', 'settings'] as const) {
      it(`an admin change racing an add for the same epoch (${winner} first): every member, the joiner included, holds the same admins`, async () => {
        const world = new World(suite);
        const [alice, bob, carol] = [
          await world.person('alice'),
          await world.person('bob'),
          await world.person('carol'),
        ];
        const convs = await groupOf(world, alice, [bob]);
        const a = get(convs, 'alice/1');
        const b = get(convs, 'bob/1');
        // Both prepare for the same epoch; the server's compare-and-set takes one.
        const settings = await a.prepareUpdateSettings({ admins: ['alice', 'bob'] });
        const { pending: add } = await b.prepareAddMembers([
          { username: 'carol', keyPackages: await world.claimKeyPackages(carol) },
        ]);
        assert.equal(settings.epoch, add!.epoch);
        let c: Conversation;
        if (winner === 'add') {
          await land(b, add!, [a]); // alice's pending settings commit lost: dropped
          await a.discard(settings.id); // her stale-epoch answer
          c = await carol.devices[0]!.client.joinFromWelcome(add!.welcome!);
          assert.deepEqual(view(c).admins, ['alice'], 'the Welcome holds the admins of its epoch');
          const retry = await a.prepareUpdateSettings({ admins: ['alice', 'bob'] });
          await land(a, retry, [b, c]);
        } else {
          await land(a, settings, [b]);
          await b.discard(add!.id);
          const { pending: retry } = await b.prepareAddMembers([
            { username: 'carol', keyPackages: await world.claimKeyPackages(carol) },
          ]);
          await land(b, retry!, [a]);
          c = await carol.devices[0]!.client.joinFromWelcome(retry!.welcome!);
        }
        for (const member of [a, b, c]) {
          assert.deepEqual(view(member), { kind: 'group', admins: ['alice', 'bob'], disappearingSeconds: 0 });
        }
        assert.equal(new Set([a.epoch, b.epoch, c.epoch]).size, 1);
        assert.equal(new Set(await Promise.all([a, b, c].map((x) => x.groupCode()))).size, 1);
      });
    }

    it("a non-admin's settings commit is refused by members (invalid-commit), although ts-mls alone accepts it", async () => {
      const world = new World(suite);
      const [alice, bob, mallory] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('mallory'),
      ];
      const convs = await groupOf(world, alice, [bob, mallory]);
      const [a, b, m] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'mallory/1')];
      // The honest API refuses before any commit exists (a refused commit breaks the group).
      await assert.rejects(m.prepareUpdateSettings({ admins: ['mallory'] }), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
      await assert.rejects(m.prepareUpdateSettings({ disappearingSeconds: 5 }), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
      assert.equal(m.pendingCommit, undefined);

      const grab = await rawSettingsCommit(
        m,
        suite,
        encodeSettings({ kind: 'group', admins: ['mallory'], disappearingSeconds: 0 }),
      );
      // Negative control: ts-mls, given the same commit without Ghostproof's rules, applies it.
      const message = decode(mlsMessageDecoder, grab);
      if (message?.wireformat !== wireformats.mls_private_message) throw new Error('not a commit');
      const unchecked = await processMessage({
        context: await attackerContext(suite),
        state: rawState(b),
        message,
      });
      const grabbed = unchecked.newState.groupContext.extensions.find(
        (e) => e.extensionType === CONVERSATION_EXTENSION,
      );
      assert.ok(grabbed && 'extensionData' in grabbed && grabbed.extensionData instanceof Uint8Array);
      assert.deepEqual(decodeSettings(grabbed.extensionData).admins, ['mallory']);

      for (const member of [a, b]) {
        const epoch = member.epoch;
        await assert.rejects(member.process(grab), refusedByPolicy);
        assert.equal(member.epoch, epoch, 'state unchanged');
        assert.deepEqual(view(member).admins, ['alice']);
        assert.equal(member.broken, true);
      }
    });

    it('members refuse a settings commit, even an admin’s, that is malformed, empties the list or adds other extensions', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const refused = async (data: Uint8Array, extra: GroupContextExtension[] = []) => {
        const convs = await groupOf(world, alice, [bob]);
        const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
        const extensions: GroupContextExtension[] = [
          makeCustomExtension({ extensionType: CONVERSATION_EXTENSION, extensionData: data }),
          ...extra,
        ];
        const { commit } = await createCommit({
          context: await attackerContext(suite),
          state: rawState(a),
          extraProposals: [
            {
              proposalType: defaultProposalTypes.group_context_extensions,
              groupContextExtensions: { extensions },
            },
          ],
        });
        await assert.rejects(b.process(encode(mlsMessageEncoder, commit)), refusedByPolicy);
      };
      const good = encodeSettings({ kind: 'group', admins: ['alice'], disappearingSeconds: 60 });
      await refused(Uint8Array.of(...good, 0));
      await refused(encodeSettings({ kind: 'group', admins: [], disappearingSeconds: 60 }));
      await refused(encodeSettings({ kind: 'direct', admins: [], disappearingSeconds: 60 }));
      await refused(encodeSettings({ kind: 'group', admins: ['alice', 'zoe'], disappearingSeconds: 0 }));
      await refused(good, [makeCustomExtension({ extensionType: 0xff01, extensionData: new Uint8Array(0) })]);
    });

    it('in a 1:1 either member sets the timer; nobody can name admins', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob], 'direct');
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      assert.deepEqual(view(b), { kind: 'direct', admins: [], disappearingSeconds: 0 });
      await land(b, await b.prepareUpdateSettings({ disappearingSeconds: 300 }), [a]);
      await land(a, await a.prepareUpdateSettings({ disappearingSeconds: 30 }), [b]);
      for (const member of [a, b]) assert.equal(member.settings.disappearingSeconds, 30);
      await assert.rejects(a.prepareUpdateSettings({ admins: ['alice'] }), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
      const grab = await rawSettingsCommit(
        a,
        suite,
        encodeSettings({ kind: 'direct', admins: ['alice'], disappearingSeconds: 30 }),
      );
      await assert.rejects(b.process(grab), refusedByPolicy);
    });

    it('a group made before settings (one-byte extension) gets its admin list from its first settings commit, the same for all', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      // alice's conversation as the previous release made it: the extension holds the kind only.
      const device = alice.devices[0]!;
      const fresh = await device.client.createConversation({ cipherSuite: suite });
      const state = rawState(fresh);
      const legacy = {
        ...state,
        groupContext: {
          ...state.groupContext,
          extensions: [
            makeCustomExtension({ extensionType: CONVERSATION_EXTENSION, extensionData: Uint8Array.of(2) }),
          ],
        },
      };
      await device.store.putConversation(fresh.groupId, recordWithRawState(fresh, legacy));
      const a = (await device.client.conversation(fresh.groupId))!;
      const { pending } = await a.prepareAddMembers([
        { username: 'bob', keyPackages: await world.claimKeyPackages(bob) },
        { username: 'carol', keyPackages: await world.claimKeyPackages(carol) },
      ]);
      await a.confirm(pending!.id);
      const b = await bob.devices[0]!.client.joinFromWelcome(pending!.welcome!);
      const c = await carol.devices[0]!.client.joinFromWelcome(pending!.welcome!);
      for (const member of [a, b, c]) {
        assert.deepEqual(view(member), { kind: 'group', admins: [], disappearingSeconds: 0 });
      }
      // A first settings commit must name its committer, and members only.
      await assert.rejects(b.prepareUpdateSettings({ admins: ['alice'] }), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
      await assert.rejects(b.prepareUpdateSettings({ admins: ['bob', 'zoe'] }), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
      // bob's comes first in the epoch order: bob is admin, for everyone.
      const first = await b.prepareUpdateSettings({ disappearingSeconds: 60 });
      await land(b, first, [a, c]);
      for (const member of [a, b, c]) {
        assert.deepEqual(view(member), { kind: 'group', admins: ['bob'], disappearingSeconds: 60 });
      }
      await assert.rejects(a.prepareUpdateSettings({ disappearingSeconds: 0 }), (err: unknown) =>
        ProtocolError.is(err, 'not-allowed'),
      );
    });

    it('settings are part of the saved state and survive a restart', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
      await land(a, await a.prepareUpdateSettings({ admins: ['alice', 'bob'], disappearingSeconds: 3600 }), [
        b,
      ]);
      const reloaded = (await bob.devices[0]!.client.conversation(b.groupId))!;
      assert.deepEqual(view(reloaded), {
        kind: 'group',
        admins: ['alice', 'bob'],
        disappearingSeconds: 3600,
      });
      const outcome: ProcessOutcome = (
        await deliver([reloaded], (await a.encrypt(body.text('x'))).message)
      )[0]!;
      assert.equal(outcome.kind === 'message' && outcome.content.expiresInSeconds, 3600);
    });
  });
}
