// Installing and loading the yardstick library. It is AGPL and only a point of comparison,
// never a product dependency: it is installed on first use into bench/.yardstick (git-ignored,
// with its own package.json), outside the workspace, and loaded by absolute file URL. Nothing
// here may add it to a package.json or package-lock.json of the repo.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isLibsignal, type Libsignal } from './libsignal-api.js';

export const LIBSIGNAL_PACKAGE = '@signalapp/libsignal-client';
export const LIBSIGNAL_VERSION = '0.103.0';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const yardstickDir = join(repoRoot, 'bench', '.yardstick');
const installedPackageJson = join(
  yardstickDir,
  'node_modules',
  ...LIBSIGNAL_PACKAGE.split('/'),
  'package.json',
);

function installedVersion(): string | undefined {
  if (!existsSync(installedPackageJson)) return undefined;
  try {
    const parsed: unknown = JSON.parse(readFileSync(installedPackageJson, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'version' in parsed &&
      typeof parsed.version === 'string'
    ) {
      return parsed.version;
    }
  } catch {
    // A half-written package.json counts as not installed.
  }
  return undefined;
}

/** npm settings inherited from an enclosing `npm run` that could point the install elsewhere. */
const inheritedNpmSettings =
  /^npm_config_(prefix|local_prefix|global|location|workspaces?|include_workspace_root|dry_run|save|package_lock(_only)?)$/i;

function installLibsignal(): void {
  mkdirSync(yardstickDir, { recursive: true });
  // Its own package.json makes bench/.yardstick a project root of its own, so npm never walks up
  // to the repo's workspace root (and its package.json / package-lock.json).
  const ownPackageJson = join(yardstickDir, 'package.json');
  if (!existsSync(ownPackageJson)) {
    writeFileSync(
      ownPackageJson,
      `${JSON.stringify({ name: 'ghostproof-yardstick', private: true, description: 'Benchmark yardsticks, installed on demand; not a project dependency.' }, null, 2)}\n`,
    );
  }
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !inheritedNpmSettings.test(key)),
  );
  const args = [
    'install',
    '--no-save',
    '--no-package-lock',
    '--ignore-scripts', // the only install script echoes a hint; the prebuilt binary ships in the tarball
    '--no-audit',
    '--no-fund',
    '--prefix',
    yardstickDir,
    `${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION}`,
  ];
  console.error(`[yardstick] installing ${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION} into ${yardstickDir}`);
  const result = spawnSync('npm', args, {
    cwd: yardstickDir,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32', // npm is npm.cmd there
  });
  if (result.error !== undefined || result.status !== 0) {
    const detail = result.error?.message ?? `exit status ${String(result.status)}`;
    throw new Error(
      `npm install of ${LIBSIGNAL_PACKAGE}@${LIBSIGNAL_VERSION} failed (${detail}):\n${result.stdout}${result.stderr}`,
    );
  }
  const version = installedVersion();
  if (version !== LIBSIGNAL_VERSION) {
    throw new Error(
      `after npm install, ${installedPackageJson} has version ${String(version)}, not ${LIBSIGNAL_VERSION}`,
    );
  }
}

let loading: Promise<Libsignal> | undefined;

/** Installs @signalapp/libsignal-client@0.103.0 into bench/.yardstick (git-ignored) on first use, outside the project's dependencies, and returns the module. */
export function loadLibsignal(): Promise<Libsignal> {
  loading ??= (async () => {
    if (installedVersion() !== LIBSIGNAL_VERSION) installLibsignal();
    const entry = createRequire(join(yardstickDir, 'package.json')).resolve(LIBSIGNAL_PACKAGE);
    const mod: unknown = await import(pathToFileURL(entry).href);
    if (!isLibsignal(mod)) {
      throw new Error(`${entry} does not export the ${LIBSIGNAL_PACKAGE} API this yardstick expects`);
    }
    return mod;
  })();
  return loading;
}
