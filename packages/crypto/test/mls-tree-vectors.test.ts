// The MLS tree vectors (tree-math, tree-operations, tree-validation, treekem) against the
// pinned ts-mls on our provider. The ciphersuite files hold suites 1-7 and we support only
// suite 1 (X-Wing has no MLS vectors), so each pins how many vectors it runs. Negative
// controls: a provider with one flipped bit in its digest (tree hashes) or in HPKE open and
// HKDF-Expand (TreeKEM path secrets) fails every vector, and so does a tree-math vector with
// one relation changed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cryptoProvider } from '@ghostproof/crypto';
import {
  checkTreeMath,
  checkTreeOperations,
  checkTreeValidation,
  checkTreekem,
  describeVectorFile,
  joinTimeTreeError,
  type TreeMathVector,
  type TreeValidationVector,
} from './helpers/mls-protocol-vectors.js';
import { loadVectorFile } from './helpers/mls-vectors.js';

describe('MLS tree-math vectors', () => {
  const vectors = loadVectorFile<TreeMathVector[]>('mls/tree-math.json');

  it('has no ciphersuite: runs all 10 vectors', () => {
    assert.equal(vectors.length, 10);
  });

  it('passes every vector', () => {
    for (const vector of vectors) checkTreeMath(vector);
  });

  it('fails every vector with one relation changed', () => {
    for (const vector of vectors) {
      const last = vector.n_nodes - 1;
      assert.throws(() => checkTreeMath({ ...vector, root: vector.root + 1 }));
      assert.throws(() => checkTreeMath({ ...vector, parent: [...vector.parent.slice(0, last), 0] }));
    }
  });
});

describeVectorFile({
  file: 'tree-operations',
  check: checkTreeOperations,
  total: 5,
  supported: 5,
  controls: ['digest'],
});

describeVectorFile({
  file: 'tree-validation',
  check: checkTreeValidation,
  total: 98,
  supported: 14,
  controls: ['digest'],
});

describe('ts-mls join-time tree validation on the tree-validation vectors', () => {
  // All 14 trees are valid (FORMAT.md's checks above pass), but rc.10's validateRatchetTree
  // requires every non-blank node on an unmerged leaf's direct path, up to the root, to carry
  // the same unmerged_leaves list, where RFC 9420 (7.9.1) asks only that the nodes between
  // the leaf and the parent listing it include the leaf. Vector 12 (a member added by a
  // commit whose path then reset the root) is refused. Pinned so that a fix shows up here.
  it('refuses only vector 12, the tree with an unmerged leaf under a root that does not list it', async () => {
    const vectors = loadVectorFile<TreeValidationVector[]>('mls/tree-validation.json');
    const impl = await cryptoProvider.getCiphersuiteImpl(1);
    const refused: [number, string][] = [];
    for (const [i, vector] of vectors.filter((v) => v.cipher_suite === 1).entries()) {
      const error = await joinTimeTreeError(impl, vector);
      if (error) refused.push([i, error.message]);
    }
    assert.deepEqual(refused, [
      [12, 'non-blank intermediate node must list leaf node in its unmerged_leaves'],
    ]);
  });
});

describeVectorFile({
  file: 'treekem',
  check: checkTreekem,
  total: 77,
  supported: 11,
  controls: ['HPKE open', 'HKDF-Expand'],
});
