// The MLS interoperability vectors in the repository's test-vectors/mls (copied from upstream),
// read-only. A file that fails to load or loads empty fails the test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { vectorsRoot } from '@ghostproof/testkit/vectors';

const mlsRoot = new URL('mls/', vectorsRoot);

export function loadMlsVectors<T>(name: string): T[] {
  const vectors = JSON.parse(readFileSync(new URL(name, mlsRoot), 'utf8')) as T[];
  assert.ok(Array.isArray(vectors) && vectors.length > 0, `${name}: no vectors`);
  return vectors;
}

export { fromHex } from '@ghostproof/testkit/hex';

/** A small seeded generator (mulberry32) so that fuzz runs are bounded and repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
