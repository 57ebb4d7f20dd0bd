// Module load hooks that give the installed (patched) ts-mls back rc.10's createCommit.js, as
// published: the library as an install made before patches/ fixed the GroupContextExtensions
// path (its remove rule patched, its GroupContextExtensions commits encrypted under the old
// group context) would run. Every other file, and createCommit's own imports, stay patched.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const published = join(dirname(require.resolve('ts-mls-unpatched')), 'createCommit.js');

export async function load(url, context, nextLoad) {
  if (url.includes('/node_modules/ts-mls/') && url.endsWith('/dist/src/createCommit.js')) {
    return { format: 'module', source: await readFile(published, 'utf8'), shortCircuit: true };
  }
  return nextLoad(url, context);
}
