// Loads the known-answer files in the repository's test-vectors/ (copied from upstream,
// never edited), with the checks every vector test needs so that a file that fails to load,
// or loads empty, fails the test instead of passing it vacuously.
import assert from 'node:assert/strict';
import { loadVectorFile as loadVectors } from '@ghostproof/testkit/vectors';

/** Parses `<repo root>/test-vectors/<relPath>`. The caller names the shape it expects. */
export { loadVectorFile as loadVectors } from '@ghostproof/testkit/vectors';
export { fromHex, toHex } from '@ghostproof/testkit/hex';

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment?: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
}

export interface WycheproofFile<G> {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly notes?: Record<string, unknown>;
  readonly testGroups: readonly G[];
}

/** One test case together with the group that holds its shared parameters. */
export interface WycheproofCase<G, T> {
  readonly group: G;
  readonly test: T;
}

/**
 * Loads `wycheproof/<name>` and returns every case, after checking that the file holds as
 * many cases as its header announces (so a truncated or mis-parsed file fails loudly).
 */
export function loadWycheproof<T extends WycheproofTest, G extends { readonly tests: readonly T[] }>(
  name: string,
): WycheproofCase<G, T>[] {
  const file = loadVectors<WycheproofFile<G>>(`wycheproof/${name}`);
  // Checked through an `unknown` copy: narrowing the typed field would widen it to any[].
  const groups: unknown = file.testGroups;
  assert.ok(Array.isArray(groups), `${name}: no testGroups`);
  const cases = file.testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));
  assert.ok(cases.length > 0, `${name}: no test cases`);
  assert.equal(cases.length, file.numberOfTests, `${name}: numberOfTests does not match the cases`);
  return cases;
}

/** Fails unless at least `minimum` cases of a kind were exercised. */
export function assertExercised(kind: string, count: number, minimum: number): void {
  assert.ok(count >= minimum, `expected at least ${minimum} ${kind} cases, exercised ${count}`);
}

/** A copy of `bytes` with one bit inverted (bit `bit` of byte `index`). */
export function flipBit(bytes: Uint8Array, index = 0, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index] = out[index]! ^ (1 << bit);
  return out;
}

export function isAllZeroHex(hex: string): boolean {
  return /^(?:00)+$/.test(hex);
}
