// `npm run build:web`: builds apps/web/dist and prints the bundle's SHA-256 (docs/web.md).
import { relative } from 'node:path';
import { buildWeb, defaultOutDir, MANIFEST_NAME } from './build.js';

const outDir = process.argv[2] ?? defaultOutDir;
const manifest = await buildWeb(outDir);
const files = Object.keys(manifest.files).length;
process.stdout.write(
  `web client: ${files} files in ${relative(process.cwd(), outDir) || '.'}, manifest ${MANIFEST_NAME}\n`,
);
process.stdout.write(`bundle sha256: ${manifest.bundleSha256}\n`);
