import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccount, safetyNumber } from '@ghostproof/protocol';

describe('safety numbers', () => {
  it('both people see the same 60 digits, and a new identity key changes them', async () => {
    const alice = await createAccount('alice');
    const bob = await createAccount('bob');
    const a = { username: 'alice', identityKey: alice.account.identityKey.publicKey };
    const b = { username: 'bob', identityKey: bob.account.identityKey.publicKey };
    const fromAlice = await safetyNumber(a, b);
    const fromBob = await safetyNumber(b, a);
    assert.equal(fromAlice.digits, fromBob.digits);
    assert.match(fromAlice.digits, /^(\d{5} ){11}\d{5}$/);
    assert.deepEqual(fromAlice.qrPayload, fromBob.qrPayload);
    const bobAgain = await createAccount('bob');
    const changed = await safetyNumber(a, {
      username: 'bob',
      identityKey: bobAgain.account.identityKey.publicKey,
    });
    assert.notEqual(changed.digits, fromAlice.digits);
  });
});
