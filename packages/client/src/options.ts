// How a Messenger is configured (MessengerOptions), the defences only tests switch off, and
// the timing constants of the messenger's services.
import type { CiphersuiteId } from '@ghostproof/crypto';
import type { ProtocolLimits } from '@ghostproof/protocol';
import type { WebSocketFactory } from './connection.js';
import type { Fetch } from './http.js';
import type { LogSink } from './logger.js';
import type { ClientStore } from './store.js';

export const SELF_UPDATE_INTERVAL_MS = 7 * 24 * 3600 * 1000;
export const SELF_UPDATE_MESSAGES = 1000;
export const KEY_PACKAGE_LOW_WATER = 10;
export const KEY_PACKAGE_BATCH = 20;
export const COMMIT_ATTEMPTS = 4;
/** Retries of a delivery whose credential lookup could not be answered: 0.5 s doubling to 30 s. */
export const LOOKUP_RETRY_MIN_MS = 500;
export const LOOKUP_RETRY_MAX_MS = 30_000;
/** After this long waiting for the directory, the person is told (`delivery-delayed`). */
export const DELIVERY_DELAY_NOTICE_MS = 60_000;
/** Store setting: conversations still to heal with a path-carrying commit (JSON ids). */
export const HEAL_SETTING = 'mls-update-path-heal';
/** How long a member that did not reset a broken conversation waits for the replacement. */
export const RESET_FALLBACK_MS = 2 * 60_000;
/** How often a routing list answered for another epoch is asked again after catching up. */
export const ROUTING_RECHECKS = 3;
/** How often expired messages are looked for while the app runs (decisions use the clock option). */
export const EXPIRY_SWEEP_MS = 1000;

/**
 * Defences a test may switch off (`true` = off), to show what each one prevents: the negative
 * controls of the attack tests. A client with any of them off is not Ghostproof.
 */
export interface UnsafeTestingDisabledDefences {
  /**
   * Device lists from the server's plain answer (signature checked, nothing proven); no
   * identity keys pinned (no "identity changed"), no monitoring of one's own account, no
   * checkpoints checked.
   */
  readonly keyTransparency?: boolean;
  /** The key transparency checkpoints peers carry in their messages are ignored (no split view). */
  readonly checkpointExchange?: boolean;
  /** Every MLS credential is accepted (the protocol's unsafeTestingAcceptAllCredentials). */
  readonly credentialChecks?: boolean;
  /** The server's routing list is never compared with the roster. */
  readonly routingCheck?: boolean;
  /** No fork or gap alarm (the protocol's unsafeTestingIgnoreForksAndGaps). */
  readonly forkAndGapDetection?: boolean;
  /**
   * A lookup that fails for a passing reason (offline, 503, rate limited) while a commit or
   * Welcome is processed counts as a verdict on the credential, as it did before: the commit
   * is refused, the conversation reset and the delivery consumed.
   */
  readonly transientLookupRetry?: boolean;
  /** A Welcome for a conversation already held replaces it (the protocol's unsafeTestingAcceptConflictingWelcomes). */
  readonly conflictingWelcomeCheck?: boolean;
  /** A conversation announced as a replacement is linked whoever is in it, as before. */
  readonly resetRosterCheck?: boolean;
  /**
   * The admin list as before it was in the MLS group context: this device's own view, set by
   * `groupAdmins` content messages, the first sender winning while the view is empty (a
   * joiner's always is). Group creators send one, as they did.
   */
  readonly authenticatedAdmins?: boolean;
  /**
   * The disappearing timer as before it was in the MLS group context and in every message:
   * this device's own view, set by the `disappearingTimer` content messages it received
   * (a member added later never received one). `setDisappearing` sends one, as it did.
   */
  readonly sharedDisappearingTimer?: boolean;
}

export interface MessengerOptions {
  readonly serverUrl: string;
  readonly store: ClientStore;
  readonly createSocket: WebSocketFactory;
  readonly fetch?: Fetch;
  readonly clock?: () => number;
  readonly limits?: Partial<ProtocolLimits>;
  readonly cipherSuite?: CiphersuiteId;
  /** How often to look for expired messages while running (default EXPIRY_SWEEP_MS). */
  readonly expirySweepMs?: number;
  /**
   * Where log records go (logger.ts). Default: `error` records (bugs) to `console.error`,
   * nothing else. Records never carry user data.
   */
  readonly logSink?: LogSink;
  /** Test-only: defences switched off for negative controls. Products never set it. */
  readonly unsafeTestingDisableDefences?: UnsafeTestingDisabledDefences;
}
