// `ghostproof serve` configuration in two steps: env.ts reads the environment, this module
// validates flags and environment together into the server's options. Flags win over the
// environment, which wins over the server's defaults. Bad input is a UsageError naming the
// flag or variable, before anything starts.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  defaultRateLimits,
  resolveConfig,
  type RateLimits,
  type ServerOptions,
} from '@ghostproof/server';
import { envNames, type ServeEnv } from './env.js';
import { UsageError } from './usage-error.js';

export { UsageError } from './usage-error.js';

const DAY_MS = 86_400_000;

export const serveFlags = {
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  data: { type: 'string', short: 'd' },
  origin: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'log-level': { type: 'string' },
  'invite-required': { type: 'boolean' },
  'invite-code': { type: 'string', multiple: true },
  'metrics-token': { type: 'string' },
  'no-metrics': { type: 'boolean' },
  'sqlite-synchronous': { type: 'string' },
  'trust-proxy': { type: 'boolean' },
  'message-ttl-days': { type: 'string' },
  'attachment-ttl-days': { type: 'string' },
  'max-attachment-mb': { type: 'string' },
  'max-application-kb': { type: 'string' },
  'max-handshake-mb': { type: 'string' },
  rate: { type: 'string', multiple: true },
  'web-root': { type: 'string' },
  store: { type: 'string' },
  bus: { type: 'string' },
  'bus-prefix': { type: 'string' },
  'kt-keys': { type: 'string' },
  'kt-origin': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const serveHelp = `Usage: ghostproof serve [options]

Runs the Ghostproof server: HTTP API, WebSocket sessions and the page at / on one port.

Options (environment variable in brackets; flags win):
  --host HOST                 address to listen on (default 127.0.0.1) [${envNames.host}]
  -p, --port PORT             port, 0 for any free one (default 8080) [${envNames.port}]
  -d, --data DIR              database and attachments (default ./data) [${envNames.data}]
  --origin URL                public origin devices sign at sign-in, e.g. https://chat.example.org
                              (default scheme://host:port) [${envNames.origin}]
  --tls-cert FILE             PEM certificate chain; with --tls-key serves HTTPS/WSS [${envNames.tlsCert}]
  --tls-key FILE              PEM private key [${envNames.tlsKey}]
  --log-level LEVEL           trace, debug, info, warn, error (default info) [${envNames.logLevel}]
  --invite-required           registration needs an invite code [${envNames.inviteRequired}=1]
  --invite-code CODE          an invite code (repeatable; 8 to 128 characters)
                              [${envNames.inviteCodes}=a,b,c]
  --metrics-token TOKEN       /metrics requires "Authorization: Bearer TOKEN" [${envNames.metricsToken}]
  --no-metrics                do not serve /metrics
  --sqlite-synchronous MODE   full (default: survives power loss) or normal (survives a crash of
                              the process, not of the machine) [${envNames.sqliteSynchronous}]
  --trust-proxy               take the client address from X-Forwarded-For [${envNames.trustProxy}=1]
  --message-ttl-days N        undelivered messages expire after N days (default 30) [${envNames.messageTtlDays}]
  --attachment-ttl-days N     attachments expire after N days (default 30) [${envNames.attachmentTtlDays}]
  --max-attachment-mb N       largest attachment in MiB (default 100) [${envNames.maxAttachmentMb}]
  --max-application-kb N      largest application message in KiB (default 256)
  --max-handshake-mb N        largest commit, proposal or Welcome in MiB (default 16)
  --rate NAME=LIMIT/WINDOW    override a rate limit, e.g. sendsPerDevice=600/10s (repeatable);
                              names: ${Object.keys(defaultRateLimits).join(', ')}
  --web-root DIR              serve this build of the web client at / (apps/web/dist, made by
                              npm run build:web); without it, a placeholder page [${envNames.webRoot}]
  --store URL                 postgres://user@host:port/db: keep state in PostgreSQL, shared by
                              several nodes (default: SQLite in the data directory) [${envNames.store}]
  --bus URL                   nats://host:port: reach devices connected to other nodes through
                              NATS (default: this process only) [${envNames.bus}]
  --bus-prefix NAME           the NATS subjects' first tokens (default ghostproof): the same on
                              every node of a deployment, another for another deployment on
                              the same NATS [${envNames.busPrefix}]
  --kt-keys FILE              the key transparency log's private keys (default: kt-keys.json in
                              the data directory, made on first start); nodes sharing a store
                              share one log, so give them all the same file [${envNames.ktKeys}]
  --kt-origin NAME            the log's name in its checkpoints (default: HOST/ghostproof-kt, or
                              the --origin host); the same on every node [${envNames.ktOrigin}]
  -h, --help                  show this help

Stops gracefully on SIGTERM or SIGINT.`;

function integer(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name}: expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`${name}: expected ${min} to ${max}`);
  return value;
}

function flag(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new UsageError(`expected 1/0, true/false or yes/no, got "${raw}"`);
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

export function parseRate(spec: string): [keyof RateLimits, { limit: number; windowMs: number }] {
  const match = /^(\w+)=(\d+)\/(\d+)(ms|s|m|h|d)$/.exec(spec);
  if (!match)
    throw new UsageError(`--rate: expected NAME=LIMIT/WINDOW such as sendsPerDevice=600/10s, got "${spec}"`);
  const [, name, limit, amount, unit] = match as unknown as [string, string, string, string, string];
  if (!(name in defaultRateLimits)) throw new UsageError(`--rate: unknown limit "${name}"`);
  return [name as keyof RateLimits, { limit: Number(limit), windowMs: Number(amount) * units[unit]! }];
}

export interface ServeSettings {
  readonly help: boolean;
  readonly options: Omit<ServerOptions, 'log' | 'signal'>;
  readonly logLevel: string;
}

export function serveSettings(args: readonly string[], env: ServeEnv): ServeSettings {
  let values;
  try {
    ({ values } = parseArgs({ args: [...args], options: serveFlags, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return { help: true, options: { dataDir: '' }, logLevel: 'info' };
  const logLevel = values['log-level'] ?? env.logLevel ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level: unknown level "${logLevel}"`);
  }
  const tlsCert = values['tls-cert'] ?? env.tlsCert;
  const tlsKey = values['tls-key'] ?? env.tlsKey;
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  const synchronous = values['sqlite-synchronous'] ?? env.sqliteSynchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw new UsageError(`--sqlite-synchronous: full or normal, got "${synchronous}"`);
  }
  const inviteCodes =
    values['invite-code'] ??
    env.inviteCodes
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean) ??
    [];
  const rates: Partial<Record<keyof RateLimits, { limit: number; windowMs: number }>> = {};
  for (const spec of values.rate ?? []) {
    const [name, rate] = parseRate(spec);
    rates[name] = rate;
  }
  const messageTtlDays = integer(
    '--message-ttl-days',
    values['message-ttl-days'] ?? env.messageTtlDays,
    1,
    3650,
  );
  const attachmentTtlDays = integer(
    '--attachment-ttl-days',
    values['attachment-ttl-days'] ?? env.attachmentTtlDays,
    1,
    3650,
  );
  const maxAttachmentMb = integer(
    '--max-attachment-mb',
    values['max-attachment-mb'] ?? env.maxAttachmentMb,
    1,
    16_384,
  );
  const maxApplicationKb = integer('--max-application-kb', values['max-application-kb'], 1, 16_384);
  const maxHandshakeMb = integer('--max-handshake-mb', values['max-handshake-mb'], 1, 512);
  const metricsToken = values['metrics-token'] ?? env.metricsToken;
  const webRoot = values['web-root'] ?? env.webRoot;
  const store = values.store ?? env.store;
  if (store !== undefined && !/^postgres(ql)?:\/\//.test(store)) {
    throw new UsageError(`--store: expected a postgres:// URL, got "${store}"`);
  }
  const bus = values.bus ?? env.bus;
  if (bus !== undefined && !/^nats:\/\//.test(bus)) {
    throw new UsageError(`--bus: expected a nats:// URL, got "${bus}"`);
  }
  const busPrefix = values['bus-prefix'] ?? env.busPrefix;
  if (busPrefix !== undefined && !/^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/.test(busPrefix)) {
    throw new UsageError(`--bus-prefix: NATS subject tokens (letters, digits, _ and -, dot-separated)`);
  }
  if (busPrefix !== undefined && bus === undefined) {
    throw new UsageError('--bus-prefix: only with --bus');
  }
  const ktKeys = values['kt-keys'] ?? env.ktKeys;
  const ktOrigin = values['kt-origin'] ?? env.ktOrigin;
  const options: Omit<ServerOptions, 'log' | 'signal'> = {
    dataDir: resolve(values.data ?? env.data ?? './data'),
    host: values.host ?? env.host ?? '127.0.0.1',
    port: integer('--port', values.port ?? env.port, 0, 65535) ?? 8080,
    ...((values.origin ?? env.origin) ? { origin: values.origin ?? env.origin } : {}),
    ...(tlsCert && tlsKey ? { tls: { certPath: resolve(tlsCert), keyPath: resolve(tlsKey) } } : {}),
    invites: {
      required: values['invite-required'] ?? flag(env.inviteRequired) ?? false,
      codes: inviteCodes,
    },
    metrics: { enabled: !values['no-metrics'], ...(metricsToken ? { token: metricsToken } : {}) },
    sqlite: { synchronous },
    trustProxy: values['trust-proxy'] ?? flag(env.trustProxy) ?? false,
    ...(messageTtlDays ? { messageTtlMs: messageTtlDays * DAY_MS } : {}),
    ...(attachmentTtlDays ? { attachmentTtlMs: attachmentTtlDays * DAY_MS } : {}),
    limits: {
      ...(maxAttachmentMb ? { attachmentBytes: maxAttachmentMb * 1024 * 1024 } : {}),
      ...(maxApplicationKb ? { applicationMessageBytes: maxApplicationKb * 1024 } : {}),
      ...(maxHandshakeMb
        ? {
            handshakeMessageBytes: maxHandshakeMb * 1024 * 1024,
            welcomeBytes: maxHandshakeMb * 1024 * 1024,
            frameBytes: 2 * maxHandshakeMb * 1024 * 1024 + 64 * 1024,
          }
        : {}),
    },
    rates,
    ...(webRoot ? { webRoot: resolve(webRoot) } : {}),
    ...(store ? { store } : {}),
    ...(bus ? { bus } : {}),
    ...(busPrefix ? { busSubjectPrefix: busPrefix } : {}),
    ...(ktKeys || ktOrigin
      ? { kt: { ...(ktKeys ? { keyFile: resolve(ktKeys) } : {}), ...(ktOrigin ? { origin: ktOrigin } : {}) } }
      : {}),
  };
  if (options.origin !== undefined) {
    try {
      const url = new URL(options.origin);
      if (url.origin !== options.origin) throw new Error('not an origin');
    } catch {
      throw new UsageError(`--origin: expected scheme://host[:port], got "${options.origin}"`);
    }
  }
  // The server's own checks, now, so that a bad value is a usage error rather than a crash.
  try {
    resolveConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  return { help: false, options, logLevel };
}
