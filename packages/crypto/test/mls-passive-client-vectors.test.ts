// The MLS passive-client vectors (welcome, handling-commit, random) against the pinned ts-mls
// on our provider, through its public API: join with the Welcome (with the vector's external
// PSKs and ratchet tree), then process each epoch's proposals and commit, comparing the epoch
// authenticator after each step. We support suite 1 of the suites 1-7 these files hold.
// Negative controls: a provider with one flipped bit in HKDF-Expand, or in HPKE open, fails
// every vector (at the join); an expected epoch authenticator with one flipped bit fails the
// comparison after that epoch's commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cryptoProvider } from '@ghostproof/crypto';
import {
  checkPassiveClient,
  describeVectorFile,
  type PassiveClientVector,
} from './helpers/mls-protocol-vectors.js';
import { loadVectorFile } from './helpers/mls-vectors.js';

describeVectorFile({
  file: 'passive-client-welcome',
  check: checkPassiveClient,
  total: 56,
  supported: 8,
  controls: ['HKDF-Expand', 'HPKE open'],
});

describeVectorFile({
  file: 'passive-client-handling-commit',
  check: checkPassiveClient,
  total: 91,
  supported: 13,
  controls: ['HKDF-Expand', 'HPKE open'],
});

describeVectorFile({
  file: 'passive-client-random',
  check: checkPassiveClient,
  total: 1,
  supported: 1,
  controls: ['HKDF-Expand', 'HPKE open'],
});

describe('MLS passive-client-handling-commit epoch authenticators', () => {
  it('fails a vector whose last expected epoch authenticator has one flipped bit', async () => {
    const vectors = loadVectorFile<PassiveClientVector[]>('mls/passive-client-handling-commit.json');
    const impl = await cryptoProvider.getCiphersuiteImpl(1);
    for (const vector of vectors.filter((v) => v.cipher_suite === 1)) {
      const last = vector.epochs.length - 1;
      const epochs = vector.epochs.map((epoch, i) =>
        i === last
          ? {
              ...epoch,
              epoch_authenticator:
                (epoch.epoch_authenticator[0] === '0' ? '1' : '0') + epoch.epoch_authenticator.slice(1),
            }
          : epoch,
      );
      await assert.rejects(
        checkPassiveClient(impl, { ...vector, epochs }),
        new RegExp(`epoch ${last} epoch_authenticator`),
      );
    }
  });
});
