// The MLS tree vectors (tree-math, tree-operations, tree-validation, treekem) against the
// pinned ts-mls on our provider. The ciphersuite files hold suites 1-7 and we support only
// suite 1 (X-Wing has no MLS vectors), so each pins how many vectors it runs. Negative
// controls: a provider with one flipped bit in its digest (tree hashes) or in HPKE open and
// HKDF-Expand (TreeKEM path secrets) fails every vector, and so does a tree-math vector with
// one relation changed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cryptoProvider } from '@ghostproof/crypto';
import { nodeTypes } from 'ts-mls';
import { validateRatchetTree as unpatchedValidateRatchetTree } from '../../../node_modules/ts-mls-unpatched/dist/src/clientState.js';
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
  // All 14 trees are valid (FORMAT.md's checks above pass). rc.10 as published requires every
  // non-blank node on an unmerged leaf's direct path, up to the root, to carry the same
  // unmerged_leaves list, where RFC 9420 (7.9.2) asks only that the nodes between the leaf
  // and the parent listing it include the leaf; so it refuses vector 12 (a member added by a
  // commit whose path then reset the root). The patch in patches/ applies the RFC's rule.
  const vectors = loadVectorFile<TreeValidationVector[]>('mls/tree-validation.json').filter(
    (v) => v.cipher_suite === 1,
  );
  const refusedBy = async (validate?: typeof unpatchedValidateRatchetTree) => {
    const impl = await cryptoProvider.getCiphersuiteImpl(1);
    const refused: [number, string][] = [];
    for (const [i, vector] of vectors.entries()) {
      const error = await joinTimeTreeError(impl, vector, validate ? { validate } : {});
      if (error) refused.push([i, error.message]);
    }
    return refused;
  };

  it('accepts every valid tree, vector 12 included', async () => {
    assert.equal(vectors.length, 14);
    assert.deepEqual(await refusedBy(), []);
  });

  it('control: rc.10 as published refuses vector 12', async () => {
    assert.deepEqual(await refusedBy(unpatchedValidateRatchetTree), [
      [12, 'non-blank intermediate node must list leaf node in its unmerged_leaves'],
    ]);
  });

  it('refuses a tree whose intermediate node does not list the unmerged leaf below it', async () => {
    // Vector 13: the root (node 7) and node 11 both list leaf 5; node 11 lies between them.
    const impl = await cryptoProvider.getCiphersuiteImpl(1);
    const error = await joinTimeTreeError(impl, vectors[13]!, {
      mutate(tree) {
        const node = tree[11];
        assert.ok(node?.nodeType === nodeTypes.parent && node.parent.unmergedLeaves.includes(5));
        tree[11] = { ...node, parent: { ...node.parent, unmergedLeaves: [] } };
      },
    });
    assert.equal(error?.message, 'non-blank intermediate node must list leaf node in its unmerged_leaves');
  });

  it('refuses an unmerged leaf that is not below the node listing it', async () => {
    // Vector 12: node 11 lists leaf 7; leaf 0 is a member, but not below node 11.
    const impl = await cryptoProvider.getCiphersuiteImpl(1);
    const error = await joinTimeTreeError(impl, vectors[12]!, {
      mutate(tree) {
        const node = tree[11];
        assert.ok(node?.nodeType === nodeTypes.parent && tree[0]?.nodeType === nodeTypes.leaf);
        tree[11] = {
          ...node,
          parent: { ...node.parent, unmergedLeaves: [...node.parent.unmergedLeaves, 0] },
        };
      },
    });
    assert.equal(error?.message, 'Unmerged leaf did not represent a non-blank descendant leaf node');
  });
});

describeVectorFile({
  file: 'treekem',
  check: checkTreekem,
  total: 77,
  supported: 11,
  controls: ['HPKE open', 'HKDF-Expand'],
});
