// Known defects of the pinned ts-mls release, reproduced through our API so that a library
// upgrade that fixes them shows up here, and so that we know members see a typed error rather
// than a crash. See docs/protocol.md, "Known issues and decisions".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ciphersuite } from '@ghostproof/crypto';
import { ProtocolError, type Conversation } from '@ghostproof/protocol';
import { groupOf, land, World } from './helpers/people.js';

describe('ts-mls 2.0.0-rc.10 known issues', () => {
  it('a Welcome into a tree with a nested unmerged leaf is refused by the joiner with a typed error', async () => {
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
    // RFC 9420 accepts this tree; rc.10's join-time validation does not.
    await assert.rejects(y.devices[0]!.client.joinFromWelcome(addY.pending!.welcome!), (e) =>
      ProtocolError.is(e, 'invalid-commit'),
    );
  });
});
