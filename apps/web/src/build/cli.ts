// `npm run build:web`: builds apps/web/dist and prints the bundle's SHA-256 (docs/web.md).
import { relative } from 'node:path';
import { ProtocolError } from '@ghostproof/protocol';
import { buildWeb, defaultOutDir, MANIFEST_NAME } from './build.js';

const outDir = process.argv[2] ?? defaultOutDir;
let manifest;
try {
  manifest = await buildWeb(outDir);
} catch (error) {
  if (!ProtocolError.is(error, 'nonconforming-mls')) throw error;
  process.stderr.write(
    'web client not built: the MLS library lacks its security patch (installed with --ignore-scripts?); run "npm install" again, or "npx patch-package"\n',
  );
  process.exit(1);
}
const files = Object.keys(manifest.files).length;
process.stdout.write(
  `web client: ${files} files in ${relative(process.cwd(), outDir) || '.'}, manifest ${MANIFEST_NAME}\n`,
);
process.stdout.write(`bundle sha256: ${manifest.bundleSha256}\n`);
