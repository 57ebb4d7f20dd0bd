// The prefix tree: canonical shape (the root does not depend on insertion order), one-leaf
// subtrees collapsed into the leaf, lookups of present and absent labels, and partial trees:
// their encoding, their bounded strict decoding, and the property the auditor relies on —
// inserting into a tree pruned to the updated labels gives the root the full tree gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EMPTY_NODE,
  EMPTY_PREFIX_HASH,
  KtError,
  PrefixTree,
  decodePartialTree,
  encodePartialTree,
  findTerminal,
  hashPrefixLeaf,
  hashPrefixNode,
  insertLeaf,
  lookupLeaf,
  prefixLeaf,
  prefixNodeHash,
  type PrefixNode,
} from '../src/index.js';
import { ByteReader, ByteWriter, toHex } from '../src/bytes.js';
import { seededRandom } from './helpers.js';

const random = seededRandom(9162);
const head = (n: number) => new Uint8Array(32).fill(n);

function encode(node: PrefixNode): Uint8Array {
  const w = new ByteWriter();
  encodePartialTree(node, w);
  return w.finish();
}

function decode(bytes: Uint8Array, nodes = 1 << 20): PrefixNode {
  const r = new ByteReader(bytes);
  const node = decodePartialTree(r, { nodes });
  r.end('tree');
  return node;
}

function labelWithBits(bits: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < bits.length; i++) if (bits[i] === '1') out[i >> 3]! |= 1 << (7 - (i & 7));
  return out;
}

describe('prefix tree', () => {
  it('hashes the empty tree as the empty constant and a one-leaf tree as that leaf', () => {
    const tree = new PrefixTree();
    assert.deepEqual(tree.rootHash(), EMPTY_PREFIX_HASH);
    const label = random(32);
    tree.set(label, 1, head(1));
    assert.deepEqual(tree.rootHash(), hashPrefixLeaf(label, 1, head(1)));
  });

  it('places two labels under internal nodes down to their first differing bit', () => {
    const a = labelWithBits('0010');
    const b = labelWithBits('0011');
    const tree = new PrefixTree();
    tree.set(a, 1, head(1));
    tree.set(b, 1, head(2));
    const la = hashPrefixLeaf(a, 1, head(1));
    const lb = hashPrefixLeaf(b, 1, head(2));
    // Depths 0, 1, 2 share bits 0, 0, 1; they differ at bit 3.
    const d3 = hashPrefixNode(la, lb);
    const d2 = hashPrefixNode(EMPTY_PREFIX_HASH, d3);
    const d1 = hashPrefixNode(d2, EMPTY_PREFIX_HASH);
    assert.deepEqual(tree.rootHash(), hashPrefixNode(d1, EMPTY_PREFIX_HASH));
  });

  it('gives the same root whatever the order of insertion, and replaces a label’s leaf', () => {
    const labels = Array.from({ length: 300 }, () => random(32));
    const one = new PrefixTree();
    const two = new PrefixTree();
    labels.forEach((l, i) => one.set(l, i + 1, head(i)));
    [...labels.keys()].reverse().forEach((i) => two.set(labels[i]!, i + 1, head(i)));
    assert.equal(toHex(one.rootHash()), toHex(two.rootHash()));
    assert.equal(one.size, 300);
    one.set(labels[5]!, 99, head(7));
    assert.equal(one.size, 300);
    assert.notEqual(toHex(one.rootHash()), toHex(two.rootHash()));
    assert.equal(one.get(labels[5]!)?.version, 99);
  });

  it('finds present labels and proves absent ones, through a pruned path', () => {
    const tree = new PrefixTree();
    const labels = Array.from({ length: 1000 }, () => random(32));
    labels.forEach((l, i) => tree.set(l, 1, head(i & 255)));
    const root = tree.rootHash();
    for (const label of [labels[0]!, labels[999]!, random(32)]) {
      const path = decode(encode(tree.prove([label])));
      assert.deepEqual(prefixNodeHash(path), root);
      const leaf = lookupLeaf(path, label);
      assert.equal(leaf !== undefined, labels.includes(label));
      // A path for one label says nothing about another.
      const other = labels.find((l) => findTerminal(path, l).kind === 1)!;
      assert.throws(
        () => lookupLeaf(path, other),
        (e: unknown) => KtError.is(e, 'verification-failed'),
      );
    }
    // A path is about log2(n) internal nodes long, each with one sibling hash.
    const bytes = encode(tree.prove([labels[1]!])).length;
    assert.ok(bytes < 34 * 20 + 100, `path of ${bytes} bytes`);
  });

  it('replays an epoch on a pruned tree to the same root as the full tree (what the auditor does)', () => {
    const tree = new PrefixTree();
    const labels = Array.from({ length: 500 }, () => random(32));
    labels.forEach((l, i) => tree.set(l, 1, head(i & 255)));
    const updates = [labels[3]!, labels[77]!, random(32), random(32), labels[3]!];
    let partial = decode(encode(tree.prove(updates)));
    updates.forEach((l, i) => {
      tree.set(l, 10 + i, head(200 + i));
      partial = insertLeaf(partial, 0, prefixLeaf(l, 10 + i, head(200 + i)));
    });
    assert.deepEqual(prefixNodeHash(partial), tree.rootHash());
    // A label the partial tree does not cover cannot be replayed.
    assert.throws(
      () => insertLeaf(decode(encode(tree.prove([labels[1]!]))), 0, prefixLeaf(labels[400]!, 1, head(0))),
      (e: unknown) => KtError.is(e, 'verification-failed'),
    );
  });

  it('decodes strictly: off-path leaves, collapsible nodes, unknown kinds, too many nodes', () => {
    const leaf1 = prefixLeaf(labelWithBits('1'), 1, head(1));
    const leaf0 = prefixLeaf(labelWithBits('0'), 1, head(1));
    const internal = (left: PrefixNode, right: PrefixNode): PrefixNode => ({ kind: 3, left, right });
    const malformed = (e: unknown) => KtError.is(e, 'malformed');
    assert.throws(() => decode(encode(internal(leaf1, leaf0))), malformed); // each leaf on the other's side
    assert.throws(() => decode(encode(internal(EMPTY_NODE, EMPTY_NODE))), malformed);
    assert.throws(() => decode(encode(internal(leaf0, EMPTY_NODE))), malformed);
    assert.throws(() => decode(new Uint8Array([9])), malformed);
    assert.throws(() => decode(new Uint8Array([3, 0])), malformed);
    const ok = encode(internal(leaf0, leaf1));
    assert.deepEqual(
      prefixNodeHash(decode(ok)),
      hashPrefixNode(prefixNodeHash(leaf0), prefixNodeHash(leaf1)),
    );
    assert.throws(() => decode(ok, 2), malformed);
    // 257 nested internal nodes: deeper than a 256-bit label allows.
    const deep = new Uint8Array(257 * 2 + 1).fill(3);
    assert.throws(() => decode(deep), malformed);
  });
});
