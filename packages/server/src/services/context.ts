// What every service shares: configuration, storage, the delivery bus, limits, metrics and
// logs. Built once by createServer.
import { createHash } from 'node:crypto';
import type { ServerConfig } from '../config.js';
import type { DeliveryBus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { RateLimiter, type RateLimit } from '../rate-limit.js';
import type { Store } from '../storage/store.js';
import type { AccountLog } from './account-log.js';

export interface ServiceContext {
  readonly config: ServerConfig;
  readonly store: Store;
  readonly bus: DeliveryBus;
  readonly accountLog: AccountLog;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly limiters: Limiters;
  /** The origin devices sign at sign-in: known once the server listens. */
  origin(): string;
  now(): number;
}

export type Limiters = { readonly [K in keyof ServerConfig['rates']]: RateLimiter };

export function createLimiters(config: ServerConfig, metrics: Metrics): Limiters {
  const onLimited = (name: string) => metrics.rateLimited.inc({ limit: name });
  const entries = (Object.entries(config.rates) as [string, RateLimit][]).map(([name, rate]) => [
    name,
    new RateLimiter(name, rate, config.clock, onLimited),
  ]);
  return Object.fromEntries(entries) as Limiters;
}

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
