// Where the known-answer vectors are: test-vectors/ at the repository's root (copied from
// their upstreams, see its README), so that a fresh clone needs nothing beside it.
import { readFileSync } from 'node:fs';

// The browser test pages bundle this module but never read through it (vectors are passed in):
// the build is told not to resolve the folder as an asset.
export const vectorsRoot = new URL(/* @vite-ignore */ '../../../test-vectors/', import.meta.url);

/** Parses `test-vectors/<relPath>`; the caller names the shape it expects. */
export function loadVectorFile<T>(relPath: string): T {
  return JSON.parse(readFileSync(new URL(relPath, vectorsRoot), 'utf8')) as T;
}
