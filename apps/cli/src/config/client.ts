// Settings of the client commands, in two steps like `serve`: env.ts reads GHOSTPROOF_*,
// this module validates flags and environment together. Flags win over the environment,
// which wins over the defaults (http://localhost:8080 and ~/.ghostproof).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from './usage-error.js';
import { clientEnvNames, type ClientEnv } from './env.js';

export const DEFAULT_SERVER = 'http://localhost:8080';

export type TestKillPoint = 'before-send' | 'after-accepted';

export interface ClientSettings {
  /** Normalised to an origin, e.g. http://localhost:8080. */
  readonly serverUrl: string;
  /** True when --server or GHOSTPROOF_SERVER named the server (a profile's own URL wins otherwise). */
  readonly serverExplicit: boolean;
  readonly profileDir: string;
  readonly json: boolean;
  readonly debug: boolean;
  readonly unsafeTestKillAt: TestKillPoint | undefined;
}

/** The global flags every client command accepts, for node:util parseArgs. */
export const globalFlags = {
  server: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const globalHelp = `Global options:
  --server URL     the server (default ${DEFAULT_SERVER}) [${clientEnvNames.server}];
                   a profile remembers the server it registered on
  --profile DIR    the profile: one account on one server (default ~/.ghostproof) [${clientEnvNames.profile}]
  --json           print one JSON object per line
  -h, --help       show this help`;

/** An origin from what a person typed: "localhost:8080" is taken as http://localhost:8080. */
export function normalizeServerUrl(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--server: expected a URL such as http://localhost:8080, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--server: expected http:// or https://, got "${raw}"`);
  }
  if (url.username || url.password) throw new UsageError('--server: no user name or password in the URL');
  return url.origin;
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

export function clientSettings(
  values: { server?: string | undefined; profile?: string | undefined; json?: boolean | undefined },
  env: ClientEnv,
  home: string = homedir(),
): ClientSettings {
  const rawServer = values.server ?? env.server;
  const killAt = env.unsafeTestKillAt;
  if (killAt !== undefined && killAt !== 'before-send' && killAt !== 'after-accepted') {
    throw new UsageError(`${clientEnvNames.unsafeTestKillAt}: before-send or after-accepted`);
  }
  return {
    serverUrl: normalizeServerUrl(rawServer ?? DEFAULT_SERVER),
    serverExplicit: rawServer !== undefined,
    profileDir: resolve(expandHome(values.profile ?? env.profile ?? '~/.ghostproof', home)),
    json: values.json ?? false,
    debug: env.debug !== undefined && env.debug !== '0',
    unsafeTestKillAt: killAt,
  };
}
