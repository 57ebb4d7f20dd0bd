// Builds the web client with Vite and writes the bundle manifest. The build is reproducible:
// file names carry content hashes, nothing embeds a time, a random id or an absolute path, so
// two builds of the same commit give identical files (checked by test/build.test.ts). The
// manifest lists every file's SHA-256 and one combined hash, computed so that coreutils can
// check it (docs/web.md):
//   cd dist && find . -type f ! -name ghostproof-web-bundle.json -printf '%P\n' \
//     | LC_ALL=C sort | xargs sha256sum | sha256sum
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type InlineConfig } from 'vite';
import { checkMlsConformance } from '@ghostproof/protocol';

/** apps/web: Vite's root (index.html lives here). */
export const webRoot = fileURLToPath(new URL('../../', import.meta.url));
export const defaultOutDir = join(webRoot, 'dist');
export const MANIFEST_NAME = 'ghostproof-web-bundle.json';
/** Where the server publishes the manifest (docs/web.md). */
export const MANIFEST_PATH = `/.well-known/${MANIFEST_NAME}`;

export interface BundleManifest {
  readonly version: 1;
  /** SHA-256 of the `sha256sum` listing of every other file, sorted by path. */
  readonly bundleSha256: string;
  /** Path relative to the bundle root (forward slashes) → hex SHA-256. */
  readonly files: Record<string, string>;
}

/** The Vite configuration of the client and of the test pages (other entries, same rules). */
export function viteConfig(options: {
  outDir: string;
  root?: string;
  input?: Record<string, string>;
  alias?: Record<string, string>;
}): InlineConfig {
  return {
    configFile: false,
    root: options.root ?? webRoot,
    base: '/',
    publicDir: false,
    logLevel: 'warn',
    clearScreen: false,
    mode: 'production',
    // Plain React with the automatic JSX runtime, no fast refresh (no plugin).
    oxc: { jsx: { runtime: 'automatic' } },
    ...(options.alias ? { resolve: { alias: options.alias } } : {}),
    build: {
      outDir: options.outDir,
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      // Nothing inlined as data: URLs (the CSP allows none) and no inline polyfill script.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
      chunkSizeWarningLimit: 4096,
      rolldownOptions: {
        ...(options.input ? { input: options.input } : {}),
        onwarn(warning, warn) {
          // ts-mls's own default crypto back end (@hpke/*, mlkem) imports node:crypto; it is
          // in lazily loaded chunks the client never loads, as it always passes our provider.
          if (
            /externalized for browser compatibility, imported by .*\/node_modules\/(@hpke|mlkem)\//.test(
              warning.message,
            )
          )
            return;
          warn(warning);
        },
      },
    },
  };
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listFiles(path, out);
    else out.push(path);
  }
  return out;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Hashes every file under `dir` (except the manifest itself) as the manifest describes. */
export function hashBundle(dir: string): BundleManifest {
  const paths = listFiles(dir)
    .map((p) => relative(dir, p).split(sep).join('/'))
    .filter((p) => p !== MANIFEST_NAME)
    .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : a === b ? 0 : 1));
  const files: Record<string, string> = {};
  let listing = '';
  for (const path of paths) {
    const hash = sha256(readFileSync(join(dir, path)));
    files[path] = hash;
    listing += `${hash}  ${path}\n`;
  }
  return { version: 1, bundleSha256: sha256(listing), files };
}

/**
 * Builds the client into `outDir` and writes its manifest; returns the manifest. Refuses
 * (`nonconforming-mls`) to bundle an MLS library without the project's patch: the bundle
 * takes ts-mls from the same node_modules this process loads, so a library that fails the
 * self-check here would fail it in every browser too, after being published.
 */
export async function buildWeb(outDir = defaultOutDir): Promise<BundleManifest> {
  await checkMlsConformance();
  await build(viteConfig({ outDir }));
  const manifest = hashBundle(outDir);
  writeFileSync(join(outDir, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
