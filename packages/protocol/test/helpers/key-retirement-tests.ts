// The expectations on key-retirement.ts's facts, shared by the Node run (node:crypto caches)
// and the Chromium run (WebCrypto caches), so that both runtimes meet the same ones.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Ciphersuite, type CiphersuiteId } from '@ghostproof/crypto';
import type { KeyRetirementFacts, RetirementFacts } from './key-retirement.js';
import { suites } from './people.js';

function assertRetiredAndGone(facts: RetirementFacts): void {
  assert.ok(facts.retired > 0, 'the commit retired no path key');
  // Every retired key was cached (the test made sure), so a miss afterwards is an eviction.
  assert.equal(facts.retiredCachedBefore, facts.retired);
  assert.equal(facts.retiredCachedAfter, 0, 'a retired path key is still in a key cache');
  assert.equal(facts.retiredNotZeroed, 0, 'a retired path key array still holds its bytes');
  // The eviction is targeted: the keys the member still uses keep their cache entries.
  assert.equal(facts.keptCachedAfter, facts.kept);
}

export function describeKeyRetirement(
  runtime: string,
  factsFor: (suite: CiphersuiteId) => Promise<KeyRetirementFacts>,
  options: { skip?: string | false } = {},
): void {
  for (const [suiteName, suite] of suites) {
    describe(`key caches after a commit, ${runtime} (${suiteName})`, { skip: options.skip ?? false }, () => {
      let facts: KeyRetirementFacts;
      before(async () => {
        facts = await factsFor(suite);
      });

      it("an old epoch's private keys are gone from the key caches after the next commit is processed", () => {
        assertRetiredAndGone(facts.processed);
        assert.ok(facts.processed.kept > 0, 'the member kept no key (its leaf should stay)');
      });

      it("an old epoch's private keys are gone from the key caches after our own commit is confirmed", () => {
        assertRetiredAndGone(facts.confirmed);
      });

      it('a leaf key parsed to decrypt a commit is evicted and zeroed when our next commit replaces it', () => {
        // DHKEM decapsulates with the state's own key array, which the cache then holds;
        // X-Wing expands its seed for each use and forgets the expansion at once.
        assert.equal(
          facts.natural.leafCachedAfterDecrypting,
          suite === Ciphersuite.X25519_AES128GCM_SHA256_ED25519,
        );
        assert.equal(facts.natural.leafCachedAfterOwnCommit, false);
        assert.equal(facts.natural.leafZeroedAfterOwnCommit, true);
      });

      it('control: merged without the eviction, retired keys stay cached and still compute with the secret after their arrays are zeroed', () => {
        const control = facts.control;
        assert.ok(control.retired > 0);
        assert.equal(control.retiredCachedBefore, control.retired);
        assert.equal(control.retiredCachedAfter, control.retired);
        assert.equal(control.retiredNotZeroed, control.retired, 'ts-mls zeroes no path key itself');
        assert.equal(control.retiredStillUsable, control.retired);
      });
    });
  }
}
