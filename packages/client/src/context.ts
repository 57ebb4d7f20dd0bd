// What the messenger's services share: one device's identity, its store, the server (HTTP and
// the live connection), the protocol client, the verified directory, the clock, the logger
// and the event emitter. The facade (messenger.ts) builds it once the profile is open.
import { ApiError, type Mailbox } from '@ghostproof/api';
import type { DeviceAddress, ProtocolClient } from '@ghostproof/protocol';
import type { Clock } from './clock.js';
import type { Connection } from './connection.js';
import type { Emit } from './events.js';
import type { HttpApi } from './http.js';
import type { KtDirectory } from './kt-directory.js';
import type { Logger } from './logger.js';
import type { UnsafeTestingDisabledDefences } from './options.js';
import type { ClientStore, StoredIdentity } from './store.js';

export interface MessengerContext {
  readonly store: ClientStore;
  readonly http: HttpApi;
  readonly clock: Clock;
  readonly identity: StoredIdentity;
  readonly protocol: ProtocolClient;
  readonly directory: KtDirectory;
  readonly disabled: UnsafeTestingDisabledDefences;
  readonly emit: Emit;
  /** A logger for one module, writing to the messenger's sink. */
  logger(scope: string): Logger;
  /** A session token, signing in again when it is missing, near expiry or `refresh`. */
  sessionToken(refresh: boolean): Promise<Uint8Array>;
  /**
   * The live connection.
   * @throws ClientError `usage` before `connect()`; `offline` once the messenger is closed.
   */
  connection(): Connection;
  /** Whether the connection is up now (false before `connect()` and after `close()`). */
  online(): boolean;
}

export function mailboxOf(address: DeviceAddress): Mailbox {
  return { username: address.username, deviceId: address.deviceId } as Mailbox;
}

/** A server answer that says "later", not "no": the request is resent unchanged. */
export function isRetryable(err: unknown): err is ApiError {
  return ApiError.is(err, 'rate-limited') || ApiError.is(err, 'unavailable');
}

/** How long to wait before resending after a retryable answer: its hint, within 50 ms..60 s. */
export function retryDelayMs(retryAfterMs: number | undefined): number {
  return Math.min(Math.max(retryAfterMs ?? 1000, 50), 60_000);
}
