// What a malicious member or server can try against a conversation, and what members see.
// Where a defence can be switched off (credential checks), the same attack is also run
// without it and must then succeed: the tests show the defence is what stops it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attackWithControl } from '@ghostproof/testkit/attack';
import {
  createCommit,
  createGroupInfoWithExternalPubAndRatchetTree,
  createProposal,
  joinGroupExternal,
  defaultCredentialTypes,
  defaultProposalTypes,
  encode,
  generateKeyPackage,
  mlsMessageDecoder,
  mlsMessageEncoder,
  processMessage,
  decode,
  defaultCapabilities,
  type ClientState,
  type MlsContext,
} from 'ts-mls';
import {
  body,
  createAuthenticationService,
  credentialAddress,
  encodeCredentialIdentity,
  ProtocolError,
  type Conversation,
} from '@ghostproof/protocol';
import { deliver, groupOf, land, suites, World, type Person } from './helpers/people.js';
import { attackerContext, rawState } from './helpers/raw-mls.js';

function get(map: Map<string, Conversation>, key: string): Conversation {
  const c = map.get(key);
  if (!c) throw new Error(`no conversation for ${key}`);
  return c;
}

function credentialOf(username: string, deviceId: number) {
  return {
    credentialType: defaultCredentialTypes.basic,
    identity: encodeCredentialIdentity({ username, deviceId }),
  };
}

/**
 * A key package naming `username`/`deviceId` whose keys the attacker made (a ghost device or an
 * impostor). It advertises the extensions a real device's package does, so only the checks
 * against the verified device list can tell it apart.
 */
function forgedKeyPackage(context: MlsContext, username: string, deviceId: number) {
  return generateKeyPackage({
    credential: credentialOf(username, deviceId),
    capabilities: {
      ...defaultCapabilities(),
      extensions: [...defaultCapabilities().extensions, 0xff00, 0x000a],
    },
    cipherSuite: context.cipherSuite,
  });
}

/** Mallory, a member, commits with her own leaf re-labelled as one of bob's devices. */
async function forgedLeafCommit(mallory: Conversation, cipherSuite: number): Promise<Uint8Array> {
  const state: ClientState = rawState(mallory);
  const tree = [...state.ratchetTree];
  const index = tree.findIndex(
    (n, i) =>
      i % 2 === 0 && n?.nodeType === 1 && credentialAddress(n.leaf.credential)?.username === 'mallory',
  );
  assert.ok(index >= 0);
  const node = tree[index]!;
  if (node.nodeType !== 1) throw new Error('not a leaf');
  tree[index] = { nodeType: 1, leaf: { ...node.leaf, credential: credentialOf('bob', 1) } };
  const { commit } = await createCommit({
    context: await attackerContext(cipherSuite),
    state: { ...state, ratchetTree: tree },
  });
  return encode(mlsMessageEncoder, commit);
}

/** Carol, a member, adds a device under her name whose key is in no device list (a ghost). */
async function ghostDeviceCommit(carol: Conversation, cipherSuite: number) {
  const context = await attackerContext(cipherSuite);
  const { publicPackage } = await forgedKeyPackage(context, 'carol', 7);
  const { commit, welcome } = await createCommit({
    context,
    state: rawState(carol),
    extraProposals: [{ proposalType: defaultProposalTypes.add, add: { keyPackage: publicPackage } }],
    ratchetTreeExtension: true,
  });
  return {
    commit: encode(mlsMessageEncoder, commit),
    welcome: welcome && encode(mlsMessageEncoder, welcome),
  };
}

async function threePeople(world: World): Promise<[Person, Person, Person]> {
  return [await world.person('alice'), await world.person('bob'), await world.person('mallory')];
}

for (const [suiteName, suite] of suites) {
  describe(`attacks by a member (${suiteName})`, () => {
    const refused = 'refused';
    const accepted = 'accepted with credential checks switched off (negative control)';
    attackWithControl({
      caught: `a member who re-labels her leaf as another member's device is ${refused}`,
      control: `a member who re-labels her leaf as another member's device is ${accepted}`,
      run: async ({ defence, verdict }) => {
        const world = new World(suite, { unsafeTestingAcceptAllCredentials: !defence });
        const [alice, bob, mallory] = await threePeople(world);
        const convs = await groupOf(world, alice, [bob, mallory]);
        const forged = await forgedLeafCommit(get(convs, 'mallory/1'), suite);
        const a = get(convs, 'alice/1');
        const epoch = a.epoch;
        await verdict({
          caught: async () => {
            await assert.rejects(a.process(forged), (e) => ProtocolError.is(e, 'invalid-commit'));
            assert.equal(a.epoch, epoch);
            assert.equal(a.broken, true);
          },
          succeeded: async () => {
            await a.process(forged);
            assert.deepEqual(
              a.members.map((m) => m.username),
              ['alice', 'bob'],
              'mallory now appears as a second "bob/1"',
            );
          },
        });
      },
    });

    attackWithControl({
      caught: `a ghost device whose key is in no device list is ${refused}`,
      control: `a ghost device whose key is in no device list is ${accepted}`,
      run: async ({ defence, verdict }) => {
        const world = new World(suite, { unsafeTestingAcceptAllCredentials: !defence });
        const [alice, bob] = [await world.person('alice'), await world.person('bob')];
        const carol = await world.person('carol');
        const convs = await groupOf(world, alice, [bob, carol]);
        const { commit } = await ghostDeviceCommit(get(convs, 'carol/1'), suite);
        const b = get(convs, 'bob/1');
        await verdict({
          caught: async () => {
            await assert.rejects(b.process(commit), (e) => ProtocolError.is(e, 'invalid-commit'));
            assert.deepEqual(b.members.find((m) => m.username === 'carol')?.deviceIds, [1]);
          },
          succeeded: async () => {
            const outcome = await b.process(commit);
            assert.deepEqual(outcome.kind === 'commit' && outcome.events, [
              {
                kind: 'device-added',
                by: { username: 'carol', deviceId: 1 },
                username: 'carol',
                deviceId: 7,
              },
            ]);
          },
        });
      },
    });

    attackWithControl({
      caught: `a Welcome into a group holding a ghost device is ${refused} by the joiner`,
      control: `a Welcome into a group holding a ghost device is ${accepted} by the joiner`,
      run: async ({ defence, verdict }) => {
        const world = new World(suite, { unsafeTestingAcceptAllCredentials: !defence });
        const [alice, carol, dave] = [
          await world.person('alice'),
          await world.person('carol'),
          await world.person('dave'),
        ];
        const convs = await groupOf(world, alice, [carol]);
        // Carol adds a ghost under her name and then dave; dave's Welcome carries the ghost's leaf.
        const state = rawState(get(convs, 'carol/1'));
        const context = await attackerContext(suite);
        const { publicPackage: ghost } = await forgedKeyPackage(context, 'carol', 7);
        const daves = await world.claimKeyPackages(dave);
        const daveMessage = decode(mlsMessageDecoder, daves.get(1)!);
        if (!daveMessage || daveMessage.wireformat !== 5) throw new Error('not a key package');
        const { welcome } = await createCommit({
          context,
          state,
          extraProposals: [
            { proposalType: defaultProposalTypes.add, add: { keyPackage: ghost } },
            { proposalType: defaultProposalTypes.add, add: { keyPackage: daveMessage.keyPackage } },
          ],
          ratchetTreeExtension: true,
        });
        const welcomeBytes = encode(mlsMessageEncoder, welcome!);
        await verdict({
          caught: async () => {
            await assert.rejects(dave.devices[0]!.client.joinFromWelcome(welcomeBytes), (e) =>
              ProtocolError.is(e, 'invalid-commit'),
            );
          },
          succeeded: async () => {
            const joined = await dave.devices[0]!.client.joinFromWelcome(welcomeBytes);
            assert.deepEqual(joined.members.find((m) => m.username === 'carol')?.deviceIds, [1, 7]);
          },
        });
      },
    });

    it('a key package whose key or account does not match the device list is refused before any commit', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob]);
      const a = get(convs, 'alice/1');
      const epoch = a.epoch;
      // Dave's package offered as carol's: the credential names another account.
      const dave = await world.person('dave');
      const daves = await world.claimKeyPackages(dave);
      await assert.rejects(a.prepareAddMembers([{ username: 'carol', keyPackages: daves }]), (e) =>
        ProtocolError.is(e, 'invalid-key-package'),
      );
      // A package that names carol/1 but carries a key the server (or anyone) made.
      const context = await attackerContext(suite);
      const { publicPackage: impostor } = await forgedKeyPackage(context, 'carol', 1);
      const impostorBytes = encode(mlsMessageEncoder, { version: 1, wireformat: 5, keyPackage: impostor });
      await assert.rejects(
        a.prepareAddMembers([{ username: 'carol', keyPackages: new Map([[1, impostorBytes]]) }]),
        (e) => ProtocolError.is(e, 'invalid-key-package'),
      );
      // A genuine package of carol's with one flipped bit in its signature.
      const genuine = (await world.claimKeyPackages(carol)).get(1)!;
      const flipped = genuine.slice();
      flipped[flipped.length - 1]! ^= 1;
      await assert.rejects(
        a.prepareAddMembers([{ username: 'carol', keyPackages: new Map([[1, flipped]]) }]),
        (e) => ProtocolError.is(e, 'invalid-key-package'),
      );
      assert.equal(a.epoch, epoch);
      assert.equal(a.pendingCommit, undefined);
    });

    it('a device without a key package is reported, never skipped silently', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob', 2)];
      const a = get(await groupOf(world, alice, []), 'alice/1');
      const packages = await world.claimKeyPackages(bob);
      packages.delete(2);
      const { pending, missing } = await a.prepareAddMembers([{ username: 'bob', keyPackages: packages }]);
      assert.equal(pending, undefined);
      assert.deepEqual(missing, [{ username: 'bob', deviceId: 2 }]);
    });

    it('a commit from a device removed in the previous epoch is refused as a fork', async () => {
      const world = new World(suite);
      const [alice, bob, carol] = [
        await world.person('alice'),
        await world.person('bob'),
        await world.person('carol'),
      ];
      const convs = await groupOf(world, alice, [bob, carol]);
      const [a, b, c] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'carol/1')];
      // Carol never processes her removal and commits in the old epoch.
      const removal = await a.prepareRemoveMembers(['carol']);
      await land(a, removal, [b]);
      const late = await c.prepareSelfUpdate();
      await assert.rejects(b.process(late.commit), (e) => ProtocolError.is(e, 'fork'));
      assert.deepEqual(
        b.members.map((m) => m.username),
        ['alice', 'bob'],
      );
    });

    const unnoticed = ' (negative control: fork and gap detection off, nothing is noticed)';
    attackWithControl({
      caught: 'different commits for one epoch shown to two members raise a fork alarm',
      control: `different commits for one epoch shown to two members raise a fork alarm${unnoticed}`,
      run: async ({ defence, verdict }) => {
        const world = new World(suite, { unsafeTestingIgnoreForksAndGaps: !defence });
        const [alice, bob, carol] = [
          await world.person('alice'),
          await world.person('bob'),
          await world.person('carol'),
        ];
        const convs = await groupOf(world, alice, [bob, carol]);
        const [a, b, c] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'carol/1')];
        const fromAlice = await a.prepareSelfUpdate();
        const fromBob = await b.prepareSelfUpdate();
        // A server shows carol alice's commit, then also bob's for the same epoch.
        await deliver([c], fromAlice.commit);
        await verdict({
          caught: async () => {
            await assert.rejects(c.process(fromBob.commit), (e) => ProtocolError.is(e, 'fork'));
          },
          succeeded: async () => {
            assert.deepEqual(await c.process(fromBob.commit), { kind: 'duplicate' });
          },
        });
        // The same commit again is just a redelivery.
        assert.deepEqual(await c.process(fromAlice.commit), { kind: 'duplicate' });
      },
    });

    attackWithControl({
      caught: 'a message from an epoch this member has not reached raises a gap alarm',
      control: `a message from an epoch this member has not reached raises a gap alarm${unnoticed}`,
      run: async ({ defence, verdict }) => {
        const world = new World(suite, { unsafeTestingIgnoreForksAndGaps: !defence });
        const [alice, bob, carol] = [
          await world.person('alice'),
          await world.person('bob'),
          await world.person('carol'),
        ];
        const convs = await groupOf(world, alice, [bob, carol]);
        const [a, b, c] = [get(convs, 'alice/1'), get(convs, 'bob/1'), get(convs, 'carol/1')];
        // The server withholds alice's commit from carol, then delivers bob's message from the new epoch.
        await land(a, await a.prepareSelfUpdate(), [b]);
        const { message } = await b.encrypt(body.text('you missed a commit'));
        await verdict({
          caught: () => assert.rejects(c.process(message), (e) => ProtocolError.is(e, 'gap')),
          succeeded: async () => assert.deepEqual(await c.process(message), { kind: 'duplicate' }),
        });
      },
    });

    attackWithControl({
      caught: "ts-mls's commit creation, given this project's authentication service, refuses a ghost",
      control: "(negative control) ts-mls's commit creation with an accept-all service makes the same commit",
      run: async ({ verdict }) => {
        const world = new World(suite);
        const [alice, bob] = [await world.person('alice'), await world.person('bob')];
        const convs = await groupOf(world, alice, [bob]);
        const context = await attackerContext(suite);
        const { publicPackage: ghost } = await forgedKeyPackage(context, 'bob', 9);
        const honest = { ...context, authService: createAuthenticationService(world.directory) };
        const add = [{ proposalType: defaultProposalTypes.add, add: { keyPackage: ghost } }];
        await verdict({
          caught: () =>
            assert.rejects(
              createCommit({ context: honest, state: rawState(get(convs, 'alice/1')), extraProposals: add }),
            ),
          // Negative control: with the accept-all service the same commit is made.
          succeeded: async () => {
            await createCommit({ context, state: rawState(get(convs, 'alice/1')), extraProposals: add });
          },
        });
      },
    });

    it('a standalone proposal to add a device is refused; members only propose to leave', async () => {
      const world = new World(suite);
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      const context = await attackerContext(suite);
      const { publicPackage: ghost } = await forgedKeyPackage(context, 'bob', 9);
      const { message } = await createProposal({
        context,
        state: rawState(get(convs, 'bob/1')),
        proposal: { proposalType: defaultProposalTypes.add, add: { keyPackage: ghost } },
      });
      await assert.rejects(get(convs, 'alice/1').process(encode(mlsMessageEncoder, message)), (e) =>
        ProtocolError.is(e, 'not-allowed'),
      );
    });

    attackWithControl({
      caught: 'an external commit (an outsider joining by GroupInfo) is refused, although ts-mls accepts it',
      control: '(negative control) the same external commit is accepted by ts-mls alone',
      run: async ({ verdict }) => {
        const world = new World(suite);
        const [alice, bob, eve] = [
          await world.person('alice'),
          await world.person('bob'),
          await world.person('eve'),
        ];
        const convs = await groupOf(world, alice, [bob]);
        const context = await attackerContext(suite);
        const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(
          rawState(get(convs, 'bob/1')),
          [],
          context.cipherSuite,
        );
        const { publicPackage, privatePackage } = await forgedKeyPackage(context, 'eve', 1);
        void eve;
        const { publicMessage } = await joinGroupExternal({
          context,
          groupInfo,
          keyPackage: publicPackage,
          privateKeys: privatePackage,
          resync: false,
        });
        const bytes = encode(mlsMessageEncoder, { version: 1, wireformat: 1, publicMessage });
        await verdict({
          caught: () =>
            assert.rejects(get(convs, 'alice/1').process(bytes), (e) =>
              ProtocolError.is(e, 'public-message-refused'),
            ),
          succeeded: async () => {
            const processed = await processMessage({
              context,
              state: rawState(get(convs, 'alice/1')),
              message: { version: 1, wireformat: 1, publicMessage },
            });
            assert.equal(processed.kind, 'newState');
          },
        });
      },
    });

    attackWithControl({
      caught: 'a PublicMessage commit is refused, although ts-mls itself would accept it',
      control: '(negative control) the same PublicMessage commit is accepted by ts-mls alone',
      run: async ({ verdict }) => {
        const world = new World(suite);
        const [alice, bob] = [await world.person('alice'), await world.person('bob')];
        const convs = await groupOf(world, alice, [bob]);
        const [a, b] = [get(convs, 'alice/1'), get(convs, 'bob/1')];
        const context = await attackerContext(suite);
        const { commit } = await createCommit({ context, state: rawState(a), wireAsPublicMessage: true });
        const bytes = encode(mlsMessageEncoder, commit);
        await verdict({
          caught: () =>
            assert.rejects(b.process(bytes), (e) => ProtocolError.is(e, 'public-message-refused')),
          // Negative control: the library alone processes it.
          succeeded: async () => {
            const processed = await processMessage({ context, state: rawState(b), message: commit });
            assert.equal(processed.kind, 'newState');
          },
        });
      },
    });
  });

  describe(`attacks on messages (${suiteName})`, () => {
    async function pair(limits = {}) {
      const world = new World(suite, { limits });
      const [alice, bob] = [await world.person('alice'), await world.person('bob')];
      const convs = await groupOf(world, alice, [bob]);
      return [get(convs, 'alice/1'), get(convs, 'bob/1')] as const;
    }

    it('a replayed message is refused', async () => {
      const [a, b] = await pair();
      const { message } = await a.encrypt(body.text('once'));
      await b.process(message);
      await assert.rejects(b.process(message), (e) => ProtocolError.is(e, 'replay'));
    });

    it('any flipped bit in the encrypted part is refused with one uniform error, and nothing changes', async () => {
      const [a, b] = await pair();
      const { message } = await a.encrypt(body.text('integrity'));
      const before = b.record();
      // The last bytes are the AEAD ciphertext and tag, preceded by the encrypted sender data.
      const positions = [message.length - 1, message.length - 17, message.length - 40, message.length - 120];
      for (const position of positions) {
        const tampered = message.slice();
        tampered[position]! ^= 0x01;
        await assert.rejects(b.process(tampered), (e) => ProtocolError.is(e, 'tampered'), `byte ${position}`);
      }
      assert.deepEqual(b.record(), before);
      assert.equal((await b.process(message)).kind, 'message');
    });

    it('every single-byte change anywhere in a message is refused', async () => {
      const [a, b] = await pair();
      const { message } = await a.encrypt(body.text('x'));
      for (let position = 0; position < message.length; position += 7) {
        const tampered = message.slice();
        tampered[position]! ^= 0x80;
        await assert.rejects(b.process(tampered), ProtocolError, `byte ${position}`);
      }
    });

    it('out-of-order delivery within the window decrypts; the held skipped keys never exceed the window', async () => {
      const window = 8;
      const [a, b] = await pair({ outOfOrderWindow: window, maxForwardSteps: 50 });
      const messages = [];
      for (let i = 0; i < 20; i++) messages.push((await a.encrypt(body.text(`m${i}`))).message);
      // Newest first: every later message forces skipped keys to be kept for the older ones.
      const received: string[] = [];
      for (const m of messages.slice(12).reverse()) {
        const outcome = await b.process(m);
        if (outcome.kind === 'message' && outcome.content.body.case === 'text')
          received.push(outcome.content.body.value.text);
        assert.ok(b.skippedKeyCount() <= window, `${b.skippedKeyCount()} skipped keys`);
      }
      assert.deepEqual(received, ['m19', 'm18', 'm17', 'm16', 'm15', 'm14', 'm13', 'm12']);
      // Older than the window: its key is gone.
      await assert.rejects(b.process(messages[0]!), (e) => ProtocolError.is(e, 'replay'));
      assert.ok(b.skippedKeyCount() <= window);
    });

    it('a message further ahead than the forward limit is refused', async () => {
      const [a, b] = await pair({ outOfOrderWindow: 4, maxForwardSteps: 10 });
      const messages = [];
      for (let i = 0; i < 13; i++) messages.push((await a.encrypt(body.text(`m${i}`))).message);
      await assert.rejects(b.process(messages[12]!), (e) => ProtocolError.is(e, 'too-far-ahead'));
      assert.equal((await b.process(messages[0]!)).kind, 'message');
    });

    it('a second message with the same message id is dropped as a duplicate', async () => {
      const [a, b] = await pair();
      const messageId = crypto.getRandomValues(new Uint8Array(16));
      assert.equal(
        (await b.process((await a.encrypt(body.text('first'), { messageId })).message)).kind,
        'message',
      );
      assert.deepEqual(await b.process((await a.encrypt(body.text('again'), { messageId })).message), {
        kind: 'duplicate',
      });
    });
  });
}
