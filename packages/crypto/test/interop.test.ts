// Groups where one member runs our provider and another ts-mls's default provider must agree
// on every message and commit, in both directions, for both ciphersuites.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCryptoProvider, type CiphersuiteName } from 'ts-mls';
import { cryptoProvider } from '@ghostproof/crypto';
import { commitUpdate, epochOf, makeGroup, makeMember, receive, send } from './helpers/mls-group.js';

const suites: CiphersuiteName[] = [
  'MLS_256_XWING_AES256GCM_SHA512_Ed25519',
  'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
];
const text = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

for (const suite of suites) {
  describe(`interoperability with ts-mls's default provider (${suite})`, () => {
    for (const [creatorName, creatorProvider, joinerProvider] of [
      ['ours', cryptoProvider, defaultCryptoProvider],
      ['default', defaultCryptoProvider, cryptoProvider],
    ] as const) {
      it(`a group created by the ${creatorName} provider exchanges messages and commits both ways`, async () => {
        const alice = await makeMember('alice', suite, creatorProvider);
        const bob = await makeMember('bob', suite, joinerProvider);
        const carol = await makeMember('carol', suite, creatorProvider);
        await makeGroup(alice, [bob, carol]);

        assert.equal(decode(await receive(bob, await send(alice, text('hello bob')))), 'hello bob');
        assert.equal(decode(await receive(alice, await send(bob, text('hello alice')))), 'hello alice');

        // Commits with fresh update paths from each side, then messages in the new epochs.
        await commitUpdate(bob, [alice, carol]);
        await commitUpdate(alice, [bob, carol]);
        assert.equal(epochOf(alice), epochOf(bob));
        assert.equal(epochOf(carol), epochOf(bob));
        const fromBob = await send(bob, text('after two commits'));
        assert.equal(decode(await receive(alice, fromBob)), 'after two commits');
        assert.equal(decode(await receive(carol, fromBob)), 'after two commits');
        assert.equal(decode(await receive(bob, await send(carol, text('and carol')))), 'and carol');
      });
    }
  });
}
