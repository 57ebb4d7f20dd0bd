// Defects of the pinned ts-mls release (2.0.0-rc.10), reproduced through our API. Each one is
// fixed by the patch in patches/ (docs/protocol.md, "The ts-mls patch"); each test shows the
// fixed behaviour and, as its control, the published release failing on the same bytes, so
// that dropping the patch for a release that fixes it shows up here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ciphersuite } from '@ghostproof/crypto';
import { body, type Conversation } from '@ghostproof/protocol';
import {
  decode,
  joinGroup,
  mlsMessageDecoder,
  privateKeyPackageDecoder,
  processMessage,
} from 'ts-mls-unpatched';
import { deliver, groupOf, land, suites, World } from './helpers/people.js';
import { attackerContext, rawState } from './helpers/raw-mls.js';
import { framedMessage } from './helpers/removed-member.js';

describe('ts-mls 2.0.0-rc.10 defects, patched', () => {
  it('a Welcome into a tree with a nested unmerged leaf joins a group of eight', async () => {
    const world = new World(Ciphersuite.X25519_AES128GCM_SHA256_ED25519);
    const names = ['mm0', 'mm1', 'mm2', 'mm3', 'mm4', 'mm5', 'mm6', 'mm7'];
    const people = [];
    for (const name of names) people.push(await world.person(name));
    const convs = await groupOf(world, people[0]!, people.slice(1));
    const member = (i: number): Conversation => convs.get(`mm${i}/1`)!;
    // Fill every parent node: each member commits an update once.
    for (let i = 0; i < 8; i++) {
      const others = names
        .map((_, j) => j)
        .filter((j) => j !== i)
        .map(member);
      await land(member(i), await member(i).prepareSelfUpdate(), others);
    }
    const everyoneBut = (...skip: number[]) =>
      names
        .map((_, j) => j)
        .filter((j) => !skip.includes(j))
        .map(member);
    // mm0 removes mm5; mm4 updates; mm0 adds xxx (who joins fine); mm1 updates; mm0 adds yyy.
    await land(member(0), await member(0).prepareRemoveMembers(['mm5']), everyoneBut(0, 5));
    await land(member(4), await member(4).prepareSelfUpdate(), everyoneBut(4, 5));
    const x = await world.person('xxx');
    const addX = await member(0).prepareAddMembers([
      { username: 'xxx', keyPackages: await world.claimKeyPackages(x) },
    ]);
    await land(member(0), addX.pending!, everyoneBut(0, 5));
    const xConversation = await x.devices[0]!.client.joinFromWelcome(addX.pending!.welcome!);
    await land(member(1), await member(1).prepareSelfUpdate(), [...everyoneBut(1, 5), xConversation]);
    const y = await world.person('yyy');
    const addY = await member(0).prepareAddMembers([
      { username: 'yyy', keyPackages: await world.claimKeyPackages(y) },
    ]);
    await land(member(0), addY.pending!, [...everyoneBut(0, 5), xConversation]);
    const welcome = addY.pending!.welcome!;
    // Control: rc.10 as published refuses this Welcome at its tree validation.
    const message = decode(mlsMessageDecoder, welcome);
    assert.ok(message?.wireformat === 3);
    const stored = await y.devices[0]!.store.getKeyPackage(message.welcome.secrets[0]!.newMember);
    assert.ok(stored);
    const published = decode(mlsMessageDecoder, stored.publicBytes);
    assert.ok(published?.wireformat === 5);
    await assert.rejects(
      joinGroup({
        // An accept-all authentication service: credentials are not what is tested here.
        context: await attackerContext(Ciphersuite.X25519_AES128GCM_SHA256_ED25519),
        welcome: message.welcome,
        keyPackage: published.keyPackage,
        privateKeys: decode(privateKeyPackageDecoder, stored.privateBytes)!,
      }),
      /non-blank intermediate node must list leaf node in its unmerged_leaves/,
    );

    // RFC 9420 accepts this tree, and so does the patched library: yyy joins and talks.
    const yConversation = await y.devices[0]!.client.joinFromWelcome(welcome);
    assert.equal(yConversation.epoch, member(0).epoch);
    assert.equal(await yConversation.groupCode(), await member(0).groupCode());
    const { message: hello } = await yConversation.encrypt(body.text('hello from yyy'));
    const [outcome] = await deliver([member(1)], hello);
    assert.equal(outcome?.kind === 'message' && outcome.content.body.case, 'text');
    assert.deepEqual(outcome?.kind === 'message' ? outcome.sender : undefined, {
      username: 'yyy',
      deviceId: 1,
    });
  });

  for (const [suiteName, cipherSuite] of suites) {
    it(`a commit whose filtered direct path stops below the root is processed by every member (${suiteName})`, async () => {
      // The left half of the tree emptied: carol (leaf 2) removes alice and bob (leaves 0, 1),
      // so the root's copath child has an empty resolution and leaves carol's filtered direct
      // path. rc.10's receiver derived the commit secret one step past the last path secret.
      const world = new World(cipherSuite);
      const people = [];
      for (const name of ['alice', 'bob', 'carol', 'dave']) people.push(await world.person(name));
      const convs = await groupOf(world, people[0]!, people.slice(1));
      const carol = convs.get('carol/1')!;
      const dave = convs.get('dave/1')!;
      const daveBefore = rawState(dave);
      const removal = await carol.prepareRemoveMembers(['alice', 'bob']);
      await carol.confirm(removal.id);
      const outcome = await dave.process(removal.commit);
      assert.equal(outcome.kind, 'commit');
      assert.equal(await dave.groupCode(), await carol.groupCode());
      // And the next commit, an ordinary self-update of dave's, which carol processes.
      const update = await dave.prepareSelfUpdate();
      await land(dave, update, [carol]);
      assert.equal(await dave.groupCode(), await carol.groupCode());
      // Control: rc.10's receiving side refuses the same removal at its confirmation tag.
      await assert.rejects(
        processMessage({
          context: await attackerContext(cipherSuite),
          state: daveBefore,
          message: framedMessage(removal.commit),
        }),
        /confirmation tag/i,
      );
    });
  }
});
