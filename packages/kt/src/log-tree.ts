// The log tree: an RFC 9162 (Certificate Transparency 2.0, §2.1) Merkle tree over the log's
// entries, one entry per epoch. Hashing, proof generation and verification follow the RFC
// step by step, so that checkpoints are ordinary C2SP tlog checkpoints that generic
// transparency tooling can check, and proofs are the RFC's inclusion and consistency proofs.
import { sha256 } from '@noble/hashes/sha2.js';
import { KtError } from './errors.js';
import { equalBytes } from './bytes.js';

export const HASH_LENGTH = 32;
/** A proof for a tree of up to 2^63 leaves has at most 63 + 1 hashes; we cap at 64. */
export const MAX_PROOF_HASHES = 64;

/** MTH({}) = SHA-256() (§2.1.1). */
export const EMPTY_LOG_ROOT: Uint8Array = sha256(new Uint8Array(0));

const leafBuf = new Uint8Array(1 + 1024);
/** MTH({d}) = SHA-256(0x00 || d) (§2.1.1). */
export function hashLogLeaf(data: Uint8Array): Uint8Array {
  if (data.length <= 1024) {
    leafBuf[0] = 0x00;
    leafBuf.set(data, 1);
    return sha256(leafBuf.subarray(0, 1 + data.length));
  }
  const buf = new Uint8Array(1 + data.length);
  buf.set(data, 1);
  return sha256(buf);
}

const nodeBuf = new Uint8Array(1 + 2 * HASH_LENGTH);
nodeBuf[0] = 0x01;
/** SHA-256(0x01 || left || right) (§2.1.1). */
export function hashLogChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 1 + HASH_LENGTH);
  return sha256(nodeBuf);
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * An append-only Merkle tree held in memory as leaf hashes plus the hashes of every complete
 * aligned subtree, so any root, inclusion or consistency proof costs O(log n) lookups and at
 * most O(log n) hashes.
 */
export class LogTree {
  /** levels[k][i] is the hash of the complete subtree of 2^k leaves starting at leaf i * 2^k. */
  private readonly levels: Uint8Array[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends a leaf by its data; returns its index. */
  append(data: Uint8Array): number {
    return this.appendHash(hashLogLeaf(data));
  }

  /** Appends a leaf by its leaf hash (MTH of the one-leaf tree); returns its index. */
  appendHash(leafHash: Uint8Array): number {
    const index = this.size;
    this.levels[0]!.push(leafHash);
    let level = 0;
    let i = index;
    // Each time the new leaf completes a subtree, store that subtree's hash one level up.
    while (i % 2 === 1) {
      const row = this.levels[level]!;
      const parent = hashLogChildren(row[i - 1]!, row[i]!);
      if (this.levels.length === level + 1) this.levels.push([]);
      this.levels[level + 1]!.push(parent);
      level++;
      i = (i - 1) / 2;
    }
    return index;
  }

  leafHash(index: number): Uint8Array {
    const h = this.levels[0]![index];
    if (h === undefined) throw new KtError('not-found', 'log leaf: index out of range');
    return h;
  }

  /** MTH(D[start:end]) for a range that is a valid subtree position or a prefix-aligned range. */
  private rangeHash(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 1) return this.levels[0]![start]!;
    // A complete aligned subtree is stored.
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const level = Math.log2(n);
      return this.levels[level]![start / n]!;
    }
    const k = splitPoint(n);
    return hashLogChildren(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
  }

  /** The root of the tree's first `size` leaves (default: all). */
  root(size = this.size): Uint8Array {
    this.checkSize(size);
    return size === 0 ? EMPTY_LOG_ROOT : this.rangeHash(0, size);
  }

  /** PATH(m, D[n]) (§2.1.3.1): the inclusion proof of leaf `index` in the tree of `size` leaves. */
  inclusionProof(index: number, size = this.size): Uint8Array[] {
    this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new KtError('invalid-input', 'inclusion proof: leaf index out of range');
    }
    const path: Uint8Array[] = [];
    const walk = (m: number, start: number, end: number): void => {
      const n = end - start;
      if (n <= 1) return;
      const k = splitPoint(n);
      if (m < k) {
        walk(m, start, start + k);
        path.push(this.rangeHash(start + k, end));
      } else {
        walk(m - k, start + k, end);
        path.push(this.rangeHash(start, start + k));
      }
    };
    walk(index, 0, size);
    return path;
  }

  /** PROOF(m, D[n]) (§2.1.4.1): the consistency proof from size m to size n. */
  consistencyProof(first: number, second = this.size): Uint8Array[] {
    this.checkSize(second);
    if (!Number.isSafeInteger(first) || first < 0 || first > second) {
      throw new KtError('invalid-input', 'consistency proof: sizes out of order');
    }
    if (first === 0 || first === second) return [];
    const proof: Uint8Array[] = [];
    // SUBPROOF(m, D[start:end], b)
    const sub = (m: number, start: number, end: number, b: boolean): void => {
      const n = end - start;
      if (m === n) {
        if (!b) proof.push(this.rangeHash(start, end));
        return;
      }
      const k = splitPoint(n);
      if (m <= k) {
        sub(m, start, start + k, b);
        proof.push(this.rangeHash(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        proof.push(this.rangeHash(start, start + k));
      }
    };
    sub(first, 0, second, true);
    return proof;
  }

  /**
   * The roots of the complete subtrees that make up the first `size` leaves, largest first: the
   * "frontier" from which an auditor can append further leaves and recompute later roots.
   */
  frontier(size = this.size): Uint8Array[] {
    this.checkSize(size);
    const out: Uint8Array[] = [];
    let start = 0;
    for (let bit = 2 ** 52; bit >= 1; bit /= 2) {
      if (Math.floor(size / bit) % 2 === 1) {
        out.push(this.rangeHash(start, start + bit));
        start += bit;
      }
    }
    return out;
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) {
      throw new KtError('invalid-input', 'log tree: size out of range');
    }
  }
}

function checkHash(field: string, h: unknown): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_LENGTH) {
    throw new KtError('verification-failed', `${field}: expected a ${HASH_LENGTH}-byte hash`);
  }
}

function checkProof(field: string, proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_HASHES) {
    throw new KtError('verification-failed', `${field}: too many hashes`);
  }
  for (const p of proof) checkHash(field, p);
}

/** LSB(n) in the RFC's notation; sizes may exceed 2^32, so no bitwise operators. */
function isSet(n: number): boolean {
  return n % 2 === 1;
}

/**
 * Verifies an inclusion proof (§2.1.3.2). Throws `verification-failed` unless `leafHash` is
 * the leaf at `index` of the tree of `size` leaves whose root is `root`.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkHash('leaf hash', leafHash);
  checkHash('root hash', root);
  checkProof('inclusion proof', proof);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new KtError('verification-failed', 'inclusion proof: leaf index not below tree size');
  }
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new KtError('verification-failed', 'inclusion proof: too long');
    if (isSet(fn) || fn === sn) {
      r = hashLogChildren(p, r);
      if (!isSet(fn)) {
        while (!isSet(fn) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashLogChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0 || !equalBytes(r, root)) {
    throw new KtError('verification-failed', 'inclusion proof: does not lead to the root');
  }
}

/**
 * Verifies a consistency proof (§2.1.4.2): that the tree of `second` leaves with root
 * `secondRoot` extends the tree of `first` leaves with root `firstRoot`. Throws
 * `inconsistent` if it does not.
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): void {
  checkHash('first root', firstRoot);
  checkHash('second root', secondRoot);
  checkProof('consistency proof', proof);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new KtError('inconsistent', 'consistency proof: the second tree is smaller than the first');
  }
  if (first === second) {
    if (proof.length !== 0 || !equalBytes(firstRoot, secondRoot)) {
      throw new KtError('inconsistent', 'consistency proof: two different roots for one tree size');
    }
    return;
  }
  if (first === 0) {
    // Every tree extends the empty tree; the proof is empty by definition.
    if (proof.length !== 0 || !equalBytes(firstRoot, EMPTY_LOG_ROOT)) {
      throw new KtError('inconsistent', 'consistency proof: bad proof from the empty tree');
    }
    return;
  }
  // Step 1.
  if (proof.length === 0) throw new KtError('inconsistent', 'consistency proof: empty');
  // Step 2.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  // Step 3.
  let fn = first - 1;
  let sn = second - 1;
  // Step 4.
  while (isSet(fn)) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 5.
  let fr = path[0]!;
  let sr = path[0]!;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0) throw new KtError('inconsistent', 'consistency proof: too long');
    if (isSet(fn) || fn === sn) {
      fr = hashLogChildren(c, fr);
      sr = hashLogChildren(c, sr);
      if (!isSet(fn)) {
        while (!isSet(fn) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashLogChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 7.
  if (sn !== 0 || !equalBytes(fr, firstRoot) || !equalBytes(sr, secondRoot)) {
    throw new KtError('inconsistent', 'consistency proof: the trees are not consistent');
  }
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1) {
    if (n % 2 === 1) return false;
    n /= 2;
  }
  return n === 1;
}

/**
 * Folds a frontier (complete subtree roots, largest first) into the root it stands for:
 * exactly MTH of those leaves, because RFC 9162 splits at the largest power of two.
 */
export function rootFromFrontier(frontier: readonly Uint8Array[]): Uint8Array {
  if (frontier.length === 0) return EMPTY_LOG_ROOT;
  let r = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) r = hashLogChildren(frontier[i]!, r);
  return r;
}

/** Sizes of the complete subtrees of a tree of `size` leaves, largest first. */
export function frontierSizes(size: number): number[] {
  const out: number[] = [];
  for (let bit = 2 ** 52; bit >= 1; bit /= 2) if (Math.floor(size / bit) % 2 === 1) out.push(bit);
  return out;
}

/** Appends one leaf hash to a frontier, merging equal-sized subtrees as a binary counter does. */
export function appendToFrontier(frontier: Uint8Array[], size: number, leafHash: Uint8Array): void {
  frontier.push(leafHash);
  let n = size;
  while (n % 2 === 1) {
    const right = frontier.pop()!;
    const left = frontier.pop()!;
    frontier.push(hashLogChildren(left, right));
    n = Math.floor(n / 2);
  }
}
