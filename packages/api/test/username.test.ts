import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, canonicalUsername, registrableUsername, usernameSkeleton } from '@ghostproof/api';

describe('usernames', () => {
  it('case-folds and accepts letters, digits, dot, underscore and dash', () => {
    assert.equal(canonicalUsername('Alice.B_c-9'), 'alice.b_c-9');
  });

  it('refuses names that are too short, too long or hold other characters', () => {
    for (const bad of ['ab', 'a'.repeat(33), 'alice!', 'al ice', 'аlice' /* Cyrillic а */, '']) {
      assert.throws(
        () => canonicalUsername(bad),
        (e) => ApiError.is(e, 'invalid-username'),
        bad,
      );
    }
  });

  it("folds lookalikes so that a1ice and al1ce share alice's skeleton", () => {
    assert.equal(usernameSkeleton('a1ice'), usernameSkeleton('alice'));
    assert.equal(usernameSkeleton('al1ce'), usernameSkeleton('alice'));
    assert.equal(usernameSkeleton('b0b'), usernameSkeleton('bob'));
    assert.equal(usernameSkeleton('a.lice'), usernameSkeleton('alice'));
    assert.notEqual(usernameSkeleton('alice'), usernameSkeleton('alicia'));
  });

  it("reserves the service's own names and their lookalikes", () => {
    for (const name of ['admin', 'Support', 'securlty', 'adm1n', 'ghostpr00f']) {
      assert.throws(
        () => registrableUsername(name),
        (e) => ApiError.is(e, 'reserved-username'),
        name,
      );
    }
    assert.equal(registrableUsername('alice'), 'alice');
  });
});
