// Builds the test pages (test/pages/*.html) with the web client's Vite configuration, so that
// they run the same browser builds of the packages under the same CSP. node:assert and
// node:fs, which the reused crypto test helpers import, are replaced by small browser shims.
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { viteConfig } from '../../src/build/build.js';

const pages = fileURLToPath(new URL('../pages/', import.meta.url));

type Page = 'vectors' | 'store' | 'conformance' | 'key-caches' | 'joiner';

/** Builds the named pages into `outDir` (by default the pages served without a server). */
export async function buildTestPages(
  outDir: string,
  only: readonly Page[] = ['vectors', 'store', 'conformance', 'key-caches'],
): Promise<void> {
  await build(
    viteConfig({
      outDir,
      root: pages,
      input: Object.fromEntries(only.map((name) => [name, `${pages}${name}.html`])),
      alias: {
        'node:assert/strict': `${pages}assert-shim.ts`,
        'node:fs': `${pages}fs-shim.ts`,
      },
    }),
  );
}
