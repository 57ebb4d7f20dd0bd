// The server's configuration: what createServer accepts (ServerOptions, everything but the
// data directory optional) and the validated object it runs on (ServerConfig). Reading flags
// and the environment is the app's job (apps/cli/src/config); this module only checks values
// and fills in defaults, so a library user gets the same checks as the command line.
import { defaultLimits, type Limits } from '@ghostproof/api';
import { isValidKeyName } from '@ghostproof/kt';
import type { AccountLog } from './services/account-log.js';
import type { LogOptions, Logger } from './logger.js';
import type { RateLimit } from './rate-limit.js';
import type { SqliteSynchronous } from './storage/sqlite.js';
import type { Store } from './storage/store.js';
import type { DeliveryBus } from './bus/bus.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface RateLimits {
  readonly registrationsPerAddress: RateLimit;
  /** Challenges and sign-ins. */
  readonly signInsPerAddress: RateLimit;
  /** Device-list lookups. */
  readonly lookupsPerRequester: RateLimit;
  /** Key-package claims, counted per target account claimed. */
  readonly claimsPerRequester: RateLimit;
  /** Key-package claims of one device by anyone: stops draining its one-time packages. */
  readonly claimsPerTarget: RateLimit;
  /** Messages, commits and group creations. */
  readonly sendsPerDevice: RateLimit;
  readonly keyPackageUploadsPerDevice: RateLimit;
  readonly attachmentUploadsPerDevice: RateLimit;
  /** Attachment downloads per address (the capability is the credential). */
  readonly attachmentDownloadsPerAddress: RateLimit;
}

export const defaultRateLimits: RateLimits = {
  registrationsPerAddress: { limit: 10, windowMs: HOUR },
  signInsPerAddress: { limit: 120, windowMs: MINUTE },
  lookupsPerRequester: { limit: 1000, windowMs: HOUR },
  claimsPerRequester: { limit: 1000, windowMs: HOUR },
  claimsPerTarget: { limit: 200, windowMs: HOUR },
  sendsPerDevice: { limit: 600, windowMs: 10 * SECOND },
  keyPackageUploadsPerDevice: { limit: 100, windowMs: HOUR },
  attachmentUploadsPerDevice: { limit: 200, windowMs: HOUR },
  attachmentDownloadsPerAddress: { limit: 2000, windowMs: HOUR },
};

export interface TlsOptions {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface ServerOptions {
  /** Directory for the database and attachments; created if missing. */
  readonly dataDir: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** The public origin devices sign at sign-in; default scheme://host:port as listened. */
  readonly origin?: string;
  readonly tls?: TlsOptions;
  readonly limits?: Partial<Limits>;
  readonly messageTtlMs?: number;
  readonly attachmentTtlMs?: number;
  readonly sessionTtlMs?: number;
  readonly challengeTtlMs?: number;
  /** How long a claimed KeyPackageRef routes a Welcome. */
  readonly claimTtlMs?: number;
  readonly rates?: Partial<RateLimits>;
  readonly invites?: {
    readonly required: boolean;
    readonly codes?: readonly string[];
    readonly usesPerCode?: number;
  };
  readonly sqlite?: { readonly synchronous?: SqliteSynchronous };
  /**
   * A storage adapter to use instead of SQLite in dataDir, or the postgres:// URL of the
   * database that several nodes share.
   */
  readonly store?: Store | string;
  /**
   * How a node learns of entries for mailboxes connected to it: in process (default), a
   * bus adapter, or the nats:// URL of the NATS that several nodes share.
   */
  readonly bus?: DeliveryBus | string;
  /**
   * With `bus` as a nats:// URL: the first tokens of the NATS subjects (default `ghostproof`).
   * The nodes of one deployment share it; two deployments on one NATS must not.
   */
  readonly busSubjectPrefix?: string;
  /** Where accepted account updates go; default: recorded in the store. */
  readonly accountLog?: AccountLog;
  readonly log?: LogOptions | Logger;
  /** /metrics: on by default; with a token it requires `Authorization: Bearer <token>`. */
  readonly metrics?: {
    readonly enabled?: boolean;
    readonly token?: string;
    readonly defaultMetrics?: boolean;
  };
  /** Take the client address from X-Forwarded-For (behind a reverse proxy). */
  readonly trustProxy?: boolean;
  /** Deliveries in flight (sent, not acknowledged) per connection. */
  readonly deliveryWindow?: number;
  readonly sweepIntervalMs?: number;
  readonly maxConnections?: number;
  /** Time a new WebSocket has to authenticate. */
  readonly authTimeoutMs?: number;
  /** WebSocket ping interval; a connection that misses two pongs is closed. */
  readonly pingIntervalMs?: number;
  /** Aborting it shuts the server down gracefully. */
  readonly signal?: AbortSignal;
  /** Milliseconds since 1970; for tests of expiry. */
  readonly clock?: () => number;
  /**
   * A build of the web client (apps/web/dist, `npm run build:web`) to serve at `/`, with its
   * manifest at /.well-known/ghostproof-web-bundle.json; without it, a placeholder page.
   */
  readonly webRoot?: string;
  /** Key transparency (docs/key-transparency.md); on by default. */
  readonly kt?: {
    readonly enabled?: boolean;
    /** How often pending account updates are published as an epoch. */
    readonly epochIntervalMs?: number;
    /** An epoch is published at least this often even without updates. */
    readonly maxEpochAgeMs?: number;
    /** The file holding the log's private keys; default `<dataDir>/kt-keys.json`. */
    readonly keyFile?: string;
    /** The log's origin (checkpoint name); default `<origin host>/ghostproof-kt`. */
    readonly origin?: string;
  };
}

export interface ServerConfig {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly origin: string | undefined;
  readonly tls: TlsOptions | undefined;
  readonly limits: Limits;
  readonly messageTtlMs: number;
  readonly attachmentTtlMs: number;
  readonly sessionTtlMs: number;
  readonly challengeTtlMs: number;
  readonly claimTtlMs: number;
  readonly rates: RateLimits;
  readonly invites: {
    readonly required: boolean;
    readonly codes: readonly string[];
    readonly usesPerCode: number;
  };
  readonly sqliteSynchronous: SqliteSynchronous;
  readonly metrics: {
    readonly enabled: boolean;
    readonly token: string | undefined;
    readonly defaultMetrics: boolean;
  };
  readonly trustProxy: boolean;
  readonly deliveryWindow: number;
  readonly sweepIntervalMs: number;
  readonly maxConnections: number;
  readonly authTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly clock: () => number;
  readonly webRoot: string | undefined;
  readonly kt: {
    readonly enabled: boolean;
    readonly epochIntervalMs: number;
    readonly maxEpochAgeMs: number;
    readonly keyFile: string | undefined;
    readonly origin: string | undefined;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function ktOrigin(origin: string | undefined): string | undefined {
  if (origin !== undefined && !isValidKeyName(origin)) {
    throw new ConfigError('kt.origin: 1 to 256 bytes, without spaces, control characters or "+"');
  }
  return origin;
}

function positive(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ConfigError(`${name}: expected an integer from 1 to ${max}`);
  }
  return value;
}

function checkRate(name: string, rate: RateLimit): RateLimit {
  positive(`${name}.limit`, rate.limit);
  positive(`${name}.windowMs`, rate.windowMs);
  return rate;
}

export function resolveConfig(options: ServerOptions): ServerConfig {
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
    throw new ConfigError('dataDir: required');
  }
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('port: expected 0 to 65535');
  const limits: Limits = { ...defaultLimits, ...options.limits };
  for (const [name, value] of Object.entries(limits) as [string, number][]) positive(`limits.${name}`, value);
  if (
    limits.frameBytes < limits.handshakeMessageBytes ||
    limits.frameBytes < limits.applicationMessageBytes
  ) {
    throw new ConfigError('limits.frameBytes: must hold the largest message');
  }
  if (limits.frameBytes > 2 ** 31 - 1) throw new ConfigError('limits.frameBytes: at most 2 GiB');
  const rates = { ...defaultRateLimits, ...options.rates };
  for (const [name, rate] of Object.entries<RateLimit>(rates)) checkRate(`rates.${name}`, rate);
  const invites = {
    required: options.invites?.required ?? false,
    codes: options.invites?.codes ?? [],
    usesPerCode: positive('invites.usesPerCode', options.invites?.usesPerCode ?? 1),
  };
  for (const code of invites.codes) {
    if (typeof code !== 'string' || code.length < 8 || code.length > 128) {
      throw new ConfigError('invites.codes: each code 8 to 128 characters');
    }
  }
  const synchronous = options.sqlite?.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal')
    throw new ConfigError('sqlite.synchronous: full or normal');
  if (options.webRoot !== undefined && (typeof options.webRoot !== 'string' || options.webRoot === '')) {
    throw new ConfigError('webRoot: a directory');
  }
  if (typeof options.store === 'string' && !/^postgres(ql)?:\/\//.test(options.store)) {
    throw new ConfigError('store: a postgres:// URL');
  }
  if (typeof options.bus === 'string' && !/^nats:\/\//.test(options.bus)) {
    throw new ConfigError('bus: a nats:// URL');
  }
  if (options.tls && (!options.tls.certPath || !options.tls.keyPath)) {
    throw new ConfigError('tls: both certPath and keyPath');
  }
  return {
    dataDir: options.dataDir,
    host: options.host ?? '127.0.0.1',
    port,
    origin: options.origin,
    tls: options.tls,
    limits,
    messageTtlMs: positive('messageTtlMs', options.messageTtlMs ?? 30 * DAY),
    attachmentTtlMs: positive('attachmentTtlMs', options.attachmentTtlMs ?? 30 * DAY),
    sessionTtlMs: positive('sessionTtlMs', options.sessionTtlMs ?? 30 * DAY),
    challengeTtlMs: positive('challengeTtlMs', options.challengeTtlMs ?? MINUTE),
    claimTtlMs: positive('claimTtlMs', options.claimTtlMs ?? 30 * DAY),
    rates,
    invites,
    sqliteSynchronous: synchronous,
    metrics: {
      enabled: options.metrics?.enabled ?? true,
      token: options.metrics?.token,
      defaultMetrics: options.metrics?.defaultMetrics ?? true,
    },
    trustProxy: options.trustProxy ?? false,
    deliveryWindow: positive('deliveryWindow', options.deliveryWindow ?? 256, 100_000),
    sweepIntervalMs: positive('sweepIntervalMs', options.sweepIntervalMs ?? MINUTE),
    maxConnections: positive('maxConnections', options.maxConnections ?? 50_000),
    authTimeoutMs: positive('authTimeoutMs', options.authTimeoutMs ?? 10 * SECOND),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs ?? 30 * SECOND),
    clock: options.clock ?? Date.now,
    webRoot: options.webRoot,
    kt: {
      enabled: options.kt?.enabled ?? true,
      epochIntervalMs: positive('kt.epochIntervalMs', options.kt?.epochIntervalMs ?? SECOND),
      maxEpochAgeMs: positive('kt.maxEpochAgeMs', options.kt?.maxEpochAgeMs ?? 60 * MINUTE),
      keyFile: options.kt?.keyFile,
      origin: ktOrigin(options.kt?.origin),
    },
  };
}
