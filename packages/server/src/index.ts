/**
 * @ghostproof/server: the Ghostproof server. createServer(options) serves HTTP (accounts,
 * sign-in, key packages, attachments, health, metrics) and WebSocket sessions (send,
 * deliver, ack) on one port; it is the MLS Delivery Service and relays only ciphertext,
 * reading nothing but the cleartext MLS header and a Welcome's KeyPackageRefs. Storage is
 * behind the Store interface (SQLite here, PostgreSQL planned); every accepted account
 * update goes to an AccountLog, where key transparency hooks in.
 */
export { createServer, type GhostproofServer } from './server.js';
export {
  ConfigError,
  defaultRateLimits,
  resolveConfig,
  type RateLimits,
  type ServerConfig,
  type ServerOptions,
  type TlsOptions,
} from './config.js';
export type { RateLimit } from './rate-limit.js';
export { WEB_BUNDLE_MANIFEST_PATH, WEB_CSP } from './http/web-client.js';
export { StoreAccountLog, type AccountLog, type AccountUpdate } from './services/account-log.js';
export { SqliteStore, type SqliteStoreOptions, type SqliteSynchronous } from './storage/sqlite.js';
export type * from './storage/store.js';
export { createRootLogger, type LogOptions, type Logger } from './logger.js';
export type { DeliveryBus, DeliveryNotice, MailboxListener } from './bus/bus.js';
