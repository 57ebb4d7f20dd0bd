// createServer: one Node process serving HTTP (accounts, sign-in, key packages, attachments,
// health, metrics, the page at `/`) and WebSocket sessions (send, deliver, ack) on one
// port, over TLS when configured. It wires storage, the account log, the delivery bus, the
// services and the two front ends, runs the expiry sweep, and stops gracefully: close()
// or aborting `signal` refuses new work, closes sessions, lets queued writes land and
// closes storage. It never calls process.exit.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { toBase64Url, WEBSOCKET_PATH } from '@ghostproof/api';
import type { DeliveryBus } from './bus/bus.js';
import { LocalBus } from './bus/local.js';
import { NatsBus } from './bus/nats.js';
import { resolveConfig, type ServerConfig, type ServerOptions } from './config.js';
import { createHttpHandler } from './http/handler.js';
import { loadWebClient } from './http/web-client.js';
import { createLogger, createRootLogger, describeError, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { StoreAccountLog } from './services/account-log.js';
import { AccountService } from './services/accounts.js';
import { AttachmentService } from './services/attachments.js';
import { createLimiters, sha256, type ServiceContext } from './services/context.js';
import { DeliveryService } from './services/delivery.js';
import { KeyPackageService } from './services/key-packages.js';
import { PostgresStore } from './storage/postgres.js';
import { SqliteStore } from './storage/sqlite.js';
import type { Store } from './storage/store.js';
import { Gateway } from './ws/gateway.js';
import { KeyTransparency } from './kt/key-transparency.js';

export interface GhostproofServer {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly metrics: Metrics;
  /** Starts listening; resolves with the bound port and the base URL. */
  listen(): Promise<{ port: number; url: string }>;
  /** The base URL (after listen), e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** The origin devices sign at sign-in. */
  readonly origin: string;
  /** Creates an invite code valid for `uses` registrations; returns it once. */
  createInvite(uses?: number): Promise<string>;
  /** Runs the expiry sweep now. */
  sweep(): Promise<void>;
  /** The key transparency operator (undefined when disabled). */
  readonly kt: KeyTransparency | undefined;
  /** The SHA-256 of the web client bundle served at `/` (undefined without one). */
  readonly webBundleSha256: string | undefined;
  /** Graceful shutdown; safe to call more than once. */
  close(): Promise<void>;
  /** Resolves when the server has stopped. */
  readonly closed: Promise<void>;
}

const SHUTDOWN_GRACE_MS = 5000;
const FAR_FUTURE = 8.64e15;

function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && typeof (value as Logger).child === 'function';
}

export async function createServer(options: ServerOptions): Promise<GhostproofServer> {
  const config = resolveConfig(options);
  // Checked before anything is opened: a missing or altered build is a configuration error.
  const web = config.webRoot === undefined ? undefined : loadWebClient(config.webRoot);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const root = isLogger(options.log) ? options.log : createRootLogger(options.log);
  const log = createLogger(root, 'server');
  const metrics = createMetrics({ defaultMetrics: config.metrics.defaultMetrics });
  const onFlush = (writes: number, seconds: number) => {
    metrics.storeBatch.observe(writes);
    metrics.storeFlushes.observe(seconds);
  };
  const store: Store =
    typeof options.store === 'object'
      ? options.store
      : typeof options.store === 'string'
        ? await PostgresStore.open({ connectionString: options.store, onFlush })
        : new SqliteStore({
            path: join(config.dataDir, 'ghostproof.sqlite'),
            synchronous: config.sqliteSynchronous,
            onFlush,
          });
  // A bus given as a URL is this server's to close; one given as an object is the caller's.
  // What start-up opened is closed again if a later step fails (a bad key file, say).
  const closeOpened = async () => {
    if (typeof options.store !== 'object') await store.close().catch(() => {});
    await ownBus?.close().catch(() => {});
  };
  let ownBus: NatsBus | undefined;
  try {
    ownBus =
      typeof options.bus === 'string'
        ? await NatsBus.connect({
            servers: options.bus,
            ...(options.busSubjectPrefix ? { subjectPrefix: options.busSubjectPrefix } : {}),
          })
        : undefined;
  } catch (error) {
    await closeOpened();
    throw error;
  }
  const bus: DeliveryBus = typeof options.bus === 'object' ? options.bus : (ownBus ?? new LocalBus());
  const scheme = config.tls ? 'https' : 'http';
  let boundPort = config.port;
  const baseUrl = () =>
    `${scheme}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${boundPort}`;
  const origin = () => config.origin ?? baseUrl();
  // The log's origin names the server by host, so it is known before the port is bound.
  const openKt = () =>
    config.kt.enabled
      ? KeyTransparency.open({
          // Nodes sharing a PostgreSQL store share one log in it; one node keeps its own file.
          storage:
            typeof options.store === 'string'
              ? { postgres: options.store }
              : { sqliteFile: join(config.dataDir, 'kt.sqlite') },
          keyFile: config.kt.keyFile ?? join(config.dataDir, 'kt-keys.json'),
          origin:
            config.kt.origin ?? `${config.origin ? new URL(config.origin).host : config.host}/ghostproof-kt`,
          epochIntervalMs: config.kt.epochIntervalMs,
          maxEpochAgeMs: config.kt.maxEpochAgeMs,
          store,
          log: createLogger(root, 'server:kt'),
          now: config.clock,
        })
      : undefined;
  let kt: KeyTransparency | undefined;
  try {
    kt = await openKt();
  } catch (error) {
    await closeOpened();
    throw error;
  }
  const ctx: ServiceContext = {
    config,
    store,
    bus,
    accountLog: options.accountLog ?? kt ?? new StoreAccountLog(store),
    metrics,
    log,
    limiters: createLimiters(config, metrics),
    origin,
    now: config.clock,
  };

  // Removing a device closes its live connection; the gateway is built below.
  const accounts = new AccountService(ctx, (mailbox) => ws.disconnect(mailbox));
  const keyPackages = new KeyPackageService(ctx);
  const delivery = new DeliveryService(ctx);
  const attachments = new AttachmentService(ctx);
  const ws = new Gateway({ ctx, accounts, delivery, metrics, log: createLogger(root, 'server:ws') });

  if (config.invites.codes.length > 0) {
    await store.addInvites(
      config.invites.codes.map((code) => sha256(code)),
      config.invites.usesPerCode,
      FAR_FUTURE,
    );
  }
  if (kt?.shared) {
    // A shared log's writer appends what any node accepted, on each of its ticks.
    kt.reconcile = () => accounts.reconcileLog();
  } else {
    const reconciled = await accounts.reconcileLog();
    if (reconciled > 0)
      log.warn({ event: 'account-log-reconciled', count: reconciled }, 'appended unlogged account versions');
  }

  let accepting = true;
  const handler = createHttpHandler({
    ctx,
    accounts,
    keyPackages,
    attachments,
    kt,
    web,
    metrics,
    log: createLogger(root, 'server:http'),
    accepting: () => accepting,
  });
  const http: HttpServer = config.tls
    ? createHttpsServer(
        { cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) },
        handler,
      )
    : createHttpServer(handler);
  http.headersTimeout = 30_000;
  http.keepAliveTimeout = 5_000;
  http.on('upgrade', (req, socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WEBSOCKET_PATH || !accepting) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    ws.handleUpgrade(req, socket, head);
  });
  http.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  async function sweep(): Promise<void> {
    const purged = await store.purgeExpired(config.clock());
    await attachments.deleteFiles(purged.attachments);
    accounts.sweepChallenges();
    for (const limiter of Object.values(ctx.limiters)) limiter.sweep();
    log.debug(
      { event: 'sweep', entries: purged.entries, attachments: purged.attachments.length },
      'expired data removed',
    );
  }
  const sweeper = setInterval(() => {
    sweep().catch((error: unknown) =>
      log.error({ event: 'sweep-failed', err: describeError(error) }, 'sweep failed'),
    );
  }, config.sweepIntervalMs);
  sweeper.unref();

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      accepting = false;
      clearInterval(sweeper);
      log.info({ event: 'stopping' }, 'shutting down');
      const httpClosed = new Promise<void>((resolve) => {
        if (!http.listening) resolve();
        else http.close(() => resolve());
      });
      http.closeIdleConnections();
      await ws.closeAll(SHUTDOWN_GRACE_MS);
      const timer = setTimeout(() => http.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await httpClosed;
      clearTimeout(timer);
      await kt?.close();
      await store.close();
      await ownBus?.close();
      log.info({ event: 'stopped' }, 'stopped');
      resolveClosed();
    })();
    return closing;
  }
  options.signal?.addEventListener('abort', () => void close(), { once: true });

  return {
    config,
    store,
    metrics,
    get url() {
      return baseUrl();
    },
    get origin() {
      return ctx.origin();
    },
    async listen() {
      if (options.signal?.aborted) throw new Error('aborted before listening');
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          resolve();
        });
      });
      boundPort = (http.address() as AddressInfo).port;
      log.info({ event: 'listening', port: boundPort, tls: config.tls !== undefined }, 'listening');
      return { port: boundPort, url: baseUrl() };
    },
    async createInvite(uses = 1) {
      const code = toBase64Url(randomBytes(18));
      await store.addInvites([sha256(code)], uses, FAR_FUTURE);
      return code;
    },
    sweep,
    close,
    closed,
    kt,
    webBundleSha256: web?.bundleSha256,
  };
}
