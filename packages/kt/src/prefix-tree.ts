// The prefix tree: a binary Merkle trie keyed by 256-bit VRF labels (the most significant
// bit of the first byte first), after the IETF keytrans drafts, AKD and Merkle². A leaf holds
// (label, latest version, history head); a subtree holding exactly one leaf is that leaf
// itself, and an empty subtree is a fixed hash, so a path is as long as the label's shortest
// unique prefix (about log2 of the number of accounts). Parts of a tree can be replaced by
// their hash ("pruned"): such a partial tree is a proof. Lookups walk one path through it;
// auditors apply an epoch's updates to a partial tree of the old root and recompute the new
// root with the very same insertion code the operator runs on the full tree.
import type { ByteReader, ByteWriter } from './bytes.js';
import { equalBytes } from './bytes.js';
import { KtError } from './errors.js';
import { EMPTY_PREFIX_HASH, LABEL_LENGTH, hashPrefixLeaf, hashPrefixNode } from './hashing.js';

export const PREFIX_EMPTY = 0;
export const PREFIX_PRUNED = 1;
export const PREFIX_LEAF = 2;
export const PREFIX_INTERNAL = 3;

export interface PrefixEmpty {
  readonly kind: typeof PREFIX_EMPTY;
}
export interface PrefixPruned {
  readonly kind: typeof PREFIX_PRUNED;
  readonly hash: Uint8Array;
}
export interface PrefixLeaf {
  readonly kind: typeof PREFIX_LEAF;
  readonly label: Uint8Array;
  readonly version: number;
  readonly head: Uint8Array;
  hash?: Uint8Array;
}
export interface PrefixInternal {
  readonly kind: typeof PREFIX_INTERNAL;
  left: PrefixNode;
  right: PrefixNode;
  /** Cached; undefined after a change below. */
  hash?: Uint8Array | undefined;
}
export type PrefixNode = PrefixEmpty | PrefixPruned | PrefixLeaf | PrefixInternal;

export const EMPTY_NODE: PrefixEmpty = Object.freeze({ kind: PREFIX_EMPTY });
const MAX_DEPTH = LABEL_LENGTH * 8;

export function labelBit(label: Uint8Array, depth: number): number {
  return (label[depth >> 3]! >> (7 - (depth & 7))) & 1;
}

export function prefixLeaf(label: Uint8Array, version: number, head: Uint8Array): PrefixLeaf {
  return { kind: PREFIX_LEAF, label, version, head };
}

export function prefixNodeHash(node: PrefixNode): Uint8Array {
  switch (node.kind) {
    case PREFIX_EMPTY:
      return EMPTY_PREFIX_HASH;
    case PREFIX_PRUNED:
      return node.hash;
    case PREFIX_LEAF:
      return (node.hash ??= hashPrefixLeaf(node.label, node.version, node.head));
    case PREFIX_INTERNAL:
      return (node.hash ??= hashPrefixNode(prefixNodeHash(node.left), prefixNodeHash(node.right)));
  }
}

/** Two leaves in the subtree at `depth`: internal nodes down to the first bit where they differ. */
function split(depth: number, a: PrefixLeaf, b: PrefixLeaf): PrefixInternal {
  if (depth >= MAX_DEPTH) throw new KtError('internal', 'prefix tree: two leaves with one label');
  const bitA = labelBit(a.label, depth);
  if (bitA === labelBit(b.label, depth)) {
    const child = split(depth + 1, a, b);
    return bitA === 0
      ? { kind: PREFIX_INTERNAL, left: child, right: EMPTY_NODE }
      : { kind: PREFIX_INTERNAL, left: EMPTY_NODE, right: child };
  }
  return bitA === 0
    ? { kind: PREFIX_INTERNAL, left: a, right: b }
    : { kind: PREFIX_INTERNAL, left: b, right: a };
}

/**
 * Puts `leaf` in the tree (replacing the leaf with the same label, if any) and returns the
 * new subtree. Mutates internal nodes in place and clears their cached hashes. Throws
 * `verification-failed` if the path runs into a pruned subtree: the partial tree did not
 * cover this label, so it cannot prove the update.
 */
export function insertLeaf(node: PrefixNode, depth: number, leaf: PrefixLeaf): PrefixNode {
  switch (node.kind) {
    case PREFIX_EMPTY:
      return leaf;
    case PREFIX_PRUNED:
      throw new KtError('verification-failed', 'prefix tree: update path not covered by the proof');
    case PREFIX_LEAF:
      return equalBytes(node.label, leaf.label) ? leaf : split(depth, node, leaf);
    case PREFIX_INTERNAL:
      if (labelBit(leaf.label, depth) === 0) node.left = insertLeaf(node.left, depth + 1, leaf);
      else node.right = insertLeaf(node.right, depth + 1, leaf);
      node.hash = undefined;
      return node;
  }
}

/** Where a label's path ends: its leaf, another label's leaf (absent), empty (absent), or pruned. */
export function findTerminal(root: PrefixNode, label: Uint8Array): PrefixNode {
  let node = root;
  let depth = 0;
  while (node.kind === PREFIX_INTERNAL) {
    node = labelBit(label, depth) === 0 ? node.left : node.right;
    depth++;
  }
  return node;
}

/** The leaf for `label`, or undefined if the label is absent. Throws if the path is pruned. */
export function lookupLeaf(root: PrefixNode, label: Uint8Array): PrefixLeaf | undefined {
  const terminal = findTerminal(root, label);
  if (terminal.kind === PREFIX_PRUNED) {
    throw new KtError('verification-failed', 'prefix tree: the proof does not reach the label');
  }
  return terminal.kind === PREFIX_LEAF && equalBytes(terminal.label, label) ? terminal : undefined;
}

/**
 * A partial copy of the tree covering the paths of `labels` (sorted or not): everything off
 * those paths is replaced by its hash. Leaves and internal nodes on the paths are copied, so
 * the caller may insert into the copy without touching the original.
 */
export function prunePrefixTree(node: PrefixNode, labels: readonly Uint8Array[], depth = 0): PrefixNode {
  if (labels.length === 0) {
    return node.kind === PREFIX_EMPTY ? EMPTY_NODE : { kind: PREFIX_PRUNED, hash: prefixNodeHash(node) };
  }
  if (node.kind !== PREFIX_INTERNAL) return node.kind === PREFIX_LEAF ? { ...node } : node;
  const left: Uint8Array[] = [];
  const right: Uint8Array[] = [];
  for (const l of labels) (labelBit(l, depth) === 0 ? left : right).push(l);
  return {
    kind: PREFIX_INTERNAL,
    left: prunePrefixTree(node.left, left, depth + 1),
    right: prunePrefixTree(node.right, right, depth + 1),
    hash: node.hash,
  };
}

/** The full tree the operator keeps in memory. */
export class PrefixTree {
  private root: PrefixNode = EMPTY_NODE;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(label: Uint8Array): PrefixLeaf | undefined {
    return lookupLeaf(this.root, label);
  }

  set(label: Uint8Array, version: number, head: Uint8Array): void {
    if (this.get(label) === undefined) this.count++;
    this.root = insertLeaf(this.root, 0, prefixLeaf(label, version, head));
  }

  rootHash(): Uint8Array {
    return prefixNodeHash(this.root);
  }

  /** A partial tree proving the current state of every label in `labels`. */
  prove(labels: readonly Uint8Array[]): PrefixNode {
    return prunePrefixTree(this.root, labels);
  }
}

/** How many more nodes the decoder may accept; decremented as it reads, shared across trees. */
export interface NodeBudget {
  nodes: number;
}

/** Pre-order: a kind byte, then a 32-byte hash (pruned), label ‖ u64 version ‖ head (leaf), or two children. */
export function encodePartialTree(node: PrefixNode, w: ByteWriter): void {
  w.u8(node.kind);
  switch (node.kind) {
    case PREFIX_EMPTY:
      return;
    case PREFIX_PRUNED:
      w.bytes(node.hash);
      return;
    case PREFIX_LEAF:
      w.bytes(node.label).u64(node.version).bytes(node.head);
      return;
    case PREFIX_INTERNAL:
      encodePartialTree(node.left, w);
      encodePartialTree(node.right, w);
      return;
  }
}

/**
 * Decodes a partial tree and checks what can be checked without the rest of the tree: depth
 * at most 256, each leaf on its own label's path, at most `maxNodes` nodes, and no internal
 * node that an honest tree would have collapsed (two empty children, or an empty and a leaf).
 */
export function decodePartialTree(r: ByteReader, budget: NodeBudget): PrefixNode {
  const path = new Uint8Array(LABEL_LENGTH);
  const read = (depth: number): PrefixNode => {
    if (--budget.nodes < 0) throw new KtError('malformed', 'prefix proof: too many nodes');
    const kind = r.u8('prefix proof node');
    switch (kind) {
      case PREFIX_EMPTY:
        return EMPTY_NODE;
      case PREFIX_PRUNED:
        return { kind: PREFIX_PRUNED, hash: r.bytes('prefix proof hash', 32) };
      case PREFIX_LEAF: {
        const label = r.bytes('prefix proof label', LABEL_LENGTH);
        const version = r.u64('prefix proof version');
        const head = r.bytes('prefix proof head', 32);
        if (version < 1) throw new KtError('malformed', 'prefix proof: version 0 in a leaf');
        for (let d = 0; d < depth; d++) {
          if (labelBit(label, d) !== labelBit(path, d)) {
            throw new KtError('malformed', 'prefix proof: leaf off its label’s path');
          }
        }
        return prefixLeaf(label, version, head);
      }
      case PREFIX_INTERNAL: {
        if (depth >= MAX_DEPTH) throw new KtError('malformed', 'prefix proof: deeper than 256');
        const byte = depth >> 3;
        const mask = 1 << (7 - (depth & 7));
        path[byte]! &= ~mask;
        const left = read(depth + 1);
        path[byte]! |= mask;
        const right = read(depth + 1);
        path[byte]! &= ~mask;
        const collapsible = (a: PrefixNode, b: PrefixNode) =>
          a.kind === PREFIX_EMPTY && (b.kind === PREFIX_EMPTY || b.kind === PREFIX_LEAF);
        if (collapsible(left, right) || collapsible(right, left)) {
          throw new KtError('malformed', 'prefix proof: non-canonical internal node');
        }
        return { kind: PREFIX_INTERNAL, left, right };
      }
      default:
        throw new KtError('malformed', 'prefix proof: unknown node kind');
    }
  };
  return read(0);
}
