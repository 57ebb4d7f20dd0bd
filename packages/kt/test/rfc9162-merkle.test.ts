// RFC 9162 §2.1 Merkle tree hashes, inclusion proofs and consistency proofs: the known
// answers of transparency-dev/merkle (the RFC 6962 leaves "", 00, 10, 2021, ... and their
// roots and proofs), then every tree size 1..64 and every index pair against a direct
// recursive implementation of the RFC's definitions, and tampered proofs that must fail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  EMPTY_LOG_ROOT,
  KtError,
  LogTree,
  appendToFrontier,
  hashLogLeaf,
  rootFromFrontier,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import { concatBytes, fromHex, toHex } from '../src/bytes.js';

const leaves = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);
/** Root hashes for sizes 1..8 (transparency-dev/merkle testonly/constants.go RootHashes). */
const roots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** (leaf number, 1-based; tree size; proof) from transparency-dev/merkle proof/verify_test.go. */
const inclusionVectors: [number, number, string[]][] = [
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    2,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
const consistencyVectors: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];

// ---- A direct transcription of the RFC's recursive definitions, for cross-checking. ----
const refLeaf = (d: Uint8Array) => sha256(concatBytes(new Uint8Array([0]), d));
const refNode = (l: Uint8Array, r: Uint8Array) => sha256(concatBytes(new Uint8Array([1]), l, r));
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
function refMth(d: Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256(new Uint8Array(0));
  if (d.length === 1) return refLeaf(d[0]!);
  return refNode(refMth(d.slice(0, k(d.length))), refMth(d.slice(k(d.length))));
}
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const s = k(d.length);
  return m < s
    ? [...refPath(m, d.slice(0, s)), refMth(d.slice(s))]
    : [...refPath(m - s, d.slice(s)), refMth(d.slice(0, s))];
}
function refSubproof(m: number, d: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [refMth(d)];
  const s = k(d.length);
  return m <= s
    ? [...refSubproof(m, d.slice(0, s), b), refMth(d.slice(s))]
    : [...refSubproof(m - s, d.slice(s), false), refMth(d.slice(0, s))];
}

function flip(h: Uint8Array): Uint8Array {
  const out = h.slice();
  out[0]! ^= 0x10;
  return out;
}

const failsWith = (code: 'verification-failed' | 'inconsistent', fn: () => void) =>
  assert.throws(fn, (err: unknown) => KtError.is(err, code));

describe('RFC 9162 Merkle tree (transparency-dev/merkle known answers)', () => {
  const tree = new LogTree();
  for (const l of leaves) tree.append(l);

  it('hashes the empty tree as SHA-256 of nothing', () => {
    assert.equal(toHex(EMPTY_LOG_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(toHex(new LogTree().root()), toHex(EMPTY_LOG_ROOT));
  });

  it('computes the root of every prefix of the eight leaves', () => {
    for (let n = 1; n <= 8; n++) assert.equal(toHex(tree.root(n)), roots[n - 1], `size ${n}`);
  });

  it('produces and verifies the known inclusion proofs', () => {
    for (const [leaf, size, proof] of inclusionVectors) {
      assert.deepEqual(tree.inclusionProof(leaf - 1, size).map(toHex), proof);
      verifyInclusion(
        hashLogLeaf(leaves[leaf - 1]!),
        leaf - 1,
        size,
        proof.map(fromHex),
        fromHex(roots[size - 1]!),
      );
    }
  });

  it('produces and verifies the known consistency proofs', () => {
    for (const [first, second, proof] of consistencyVectors) {
      assert.deepEqual(tree.consistencyProof(first, second).map(toHex), proof);
      verifyConsistency(
        first,
        second,
        proof.map(fromHex),
        fromHex(roots[first - 1]!),
        fromHex(roots[second - 1]!),
      );
    }
  });

  it('rejects the corruptions transparency-dev/merkle tries on each known proof', () => {
    for (const [leaf, size, hex] of inclusionVectors) {
      const proof = hex.map(fromHex);
      const root = fromHex(roots[size - 1]!);
      const lh = hashLogLeaf(leaves[leaf - 1]!);
      const i = leaf - 1;
      const bad: [number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        [i + 1, size, lh, proof, root],
        [i ^ 2, size, lh, proof, root],
        [i, size * 2, lh, proof, root],
        [i, Math.max(1, size >> 1), lh, proof, root],
        [i, size, sha256(new Uint8Array([1])), proof, root],
        [i, size, lh, proof, EMPTY_LOG_ROOT],
        [i, size, lh, [...proof, root], root],
        [i, size, lh, [root, ...proof], root],
        [i, size, lh, proof.slice(0, -1), root],
        ...proof.map((_, j): [number, number, Uint8Array, Uint8Array[], Uint8Array] => [
          i,
          size,
          lh,
          proof.map((p, x) => (x === j ? flip(p) : p)),
          root,
        ]),
      ];
      for (const [bi, bs, bl, bp, br] of bad) {
        if (bi === i && bs === size && bl === lh && bp === proof && br === root) continue;
        failsWith('verification-failed', () => verifyInclusion(bl, bi, bs, bp, br));
      }
    }
    for (const [first, second, hex] of consistencyVectors) {
      if (hex.length === 0) continue;
      const proof = hex.map(fromHex);
      const r1 = fromHex(roots[first - 1]!);
      const r2 = fromHex(roots[second - 1]!);
      const bad: [number, number, Uint8Array[], Uint8Array, Uint8Array][] = [
        [first - 1 || 1, second, proof, r1, r2],
        [first + 1, second, proof, r1, r2],
        [first, second * 2, proof, r1, r2],
        [first, second, proof, r2, r1],
        [first, second, [], r1, r2],
        [first, second, [...proof, r1], r1, r2],
        [first, second, [r2, ...proof], r1, r2],
        [first, second, proof.slice(0, -1), r1, r2],
        ...proof.map((_, j): [number, number, Uint8Array[], Uint8Array, Uint8Array] => [
          first,
          second,
          proof.map((p, x) => (x === j ? flip(p) : p)),
          r1,
          r2,
        ]),
      ];
      for (const [f, s, p, a, b] of bad) {
        if (f === first && s === second && p === proof && a === r1 && b === r2) continue;
        failsWith('inconsistent', () => verifyConsistency(f, s, p, a, b));
      }
    }
  });

  it('treats equal sizes and the empty tree as the RFC implies', () => {
    const r = fromHex(roots[3]!);
    verifyConsistency(4, 4, [], r, r);
    failsWith('inconsistent', () => verifyConsistency(4, 4, [], r, fromHex(roots[4]!)));
    verifyConsistency(0, 4, [], EMPTY_LOG_ROOT, r);
    failsWith('inconsistent', () => verifyConsistency(5, 4, [], r, r));
    failsWith('verification-failed', () => verifyInclusion(r, 0, 0, [], r));
  });
});

describe('RFC 9162 Merkle tree, every size 1..64 against the recursive definition', () => {
  const data = Array.from({ length: 64 }, (_, i) => new Uint8Array([i, i * 7, 255 - i]));
  const tree = new LogTree();
  for (const d of data) tree.append(d);
  const refRoots = Array.from({ length: 65 }, (_, n) => refMth(data.slice(0, n)));

  it('agrees on every root, frontier and inclusion proof, and each proof verifies', () => {
    const frontier: Uint8Array[] = [];
    for (let n = 1; n <= 64; n++) {
      appendToFrontier(frontier, n - 1, hashLogLeaf(data[n - 1]!));
      assert.equal(toHex(tree.root(n)), toHex(refRoots[n]!));
      assert.equal(toHex(rootFromFrontier(frontier)), toHex(refRoots[n]!));
      assert.deepEqual(tree.frontier(n).map(toHex), frontier.map(toHex));
      for (let m = 0; m < n; m++) {
        const proof = tree.inclusionProof(m, n);
        assert.deepEqual(proof.map(toHex), refPath(m, data.slice(0, n)).map(toHex));
        const lh = hashLogLeaf(data[m]!);
        verifyInclusion(lh, m, n, proof, refRoots[n]!);
        // Tampered: another leaf, another index, a flipped hash.
        failsWith('verification-failed', () =>
          verifyInclusion(hashLogLeaf(new Uint8Array([99])), m, n, proof, refRoots[n]!),
        );
        if (n > 1)
          failsWith('verification-failed', () => verifyInclusion(lh, (m + 1) % n, n, proof, refRoots[n]!));
        if (proof.length > 0) {
          failsWith('verification-failed', () =>
            verifyInclusion(lh, m, n, [flip(proof[0]!), ...proof.slice(1)], refRoots[n]!),
          );
        }
      }
    }
  });

  it('agrees on every consistency proof between every pair of sizes, and each verifies', () => {
    for (let n = 1; n <= 64; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        assert.deepEqual(proof.map(toHex), refSubproof(m, data.slice(0, n), true).map(toHex));
        verifyConsistency(m, n, proof, refRoots[m]!, refRoots[n]!);
        if (m < n) {
          // A log that rewrote one of the first m entries cannot prove consistency.
          const rewritten = data.slice(0, m).map((d, i) => (i === m - 1 ? new Uint8Array([42, ...d]) : d));
          failsWith('inconsistent', () => verifyConsistency(m, n, proof, refMth(rewritten), refRoots[n]!));
          failsWith('inconsistent', () =>
            verifyConsistency(
              m,
              n,
              proof.map((p, i) => (i === proof.length - 1 ? flip(p) : p)),
              refRoots[m]!,
              refRoots[n]!,
            ),
          );
        }
      }
    }
  });
});
