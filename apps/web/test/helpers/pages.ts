// Builds the test pages (test/pages/*.html) with the web client's Vite configuration, so that
// they run the same browser builds of the packages under the same CSP. node:assert and
// node:fs, which the reused crypto test helpers import, are replaced by small browser shims.
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { viteConfig } from '../../src/build/build.js';

const pages = fileURLToPath(new URL('../pages/', import.meta.url));

export async function buildTestPages(outDir: string): Promise<void> {
  await build(
    viteConfig({
      outDir,
      root: pages,
      input: {
        vectors: `${pages}vectors.html`,
        store: `${pages}store.html`,
        conformance: `${pages}conformance.html`,
        'key-caches': `${pages}key-caches.html`,
      },
      alias: {
        'node:assert/strict': `${pages}assert-shim.ts`,
        'node:fs': `${pages}fs-shim.ts`,
      },
    }),
  );
}
