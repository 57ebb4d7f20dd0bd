// The Messenger: one device of one account, talking to one server. It joins the protocol
// (packages/protocol) to the API (packages/api) over a reconnecting WebSocket, keeps
// everything in a ClientStore, and reports what a person would see as events. Outgoing
// messages go through a durable outbox (sent again after a restart, each stored once by the
// server); redelivered messages are recognised by their server id and dropped.
import type { ServerInfoSchema } from '@ghostproof/api';
import {
  ApiError,
  readMlsMessageHeader,
  routes,
  signInSignatureInput,
  DeliveryKind,
  type Delivery,
  type DeviceList,
  type MessageShape,
  type Mailbox,
} from '@ghostproof/api';
import { createPlatformPrimitives, defaultCiphersuite, type CiphersuiteId } from '@ghostproof/crypto';
import {
  body as contentBody,
  createAccount,
  effectiveDisappearingSeconds,
  ProtocolClient,
  ProtocolError,
  safetyNumber,
  type Content,
  type Conversation,
  type ConversationSettings,
  type DeviceAddress,
  type PendingCommit,
  type ProtocolLimits,
  type RosterEvent,
  type SafetyNumber,
  Receipt_Kind,
} from '@ghostproof/protocol';
import { Connection, type ConnectionState, type WebSocketFactory } from './connection.js';
import { KtDirectory, type IdentityChange, type KtAlarm } from './kt-directory.js';
import { ClientError } from './errors.js';
import { HttpApi, type Fetch } from './http.js';
import { fromHex, randomBytes, toHex } from './bytes.js';
import type {
  AttachmentInfo,
  ClientStore,
  Contact,
  ConversationInfo,
  OutboxEntry,
  StoredIdentity,
  StoredMessage,
} from './store.js';

export const SELF_UPDATE_INTERVAL_MS = 7 * 24 * 3600 * 1000;
export const SELF_UPDATE_MESSAGES = 1000;
const KEY_PACKAGE_LOW_WATER = 10;
const KEY_PACKAGE_BATCH = 20;
const COMMIT_ATTEMPTS = 4;
/** Retries of a delivery whose credential lookup could not be answered: 0.5 s doubling to 30 s. */
const LOOKUP_RETRY_MIN_MS = 500;
const LOOKUP_RETRY_MAX_MS = 30_000;
/** After this long waiting for the directory, the person is told (`delivery-delayed`). */
export const DELIVERY_DELAY_NOTICE_MS = 60_000;
/** Store setting: conversations still to heal with a path-carrying commit (JSON ids). */
const HEAL_SETTING = 'mls-update-path-heal';
/** How long a member that did not reset a broken conversation waits for the replacement. */
export const RESET_FALLBACK_MS = 2 * 60_000;
/** How often a routing list answered for another epoch is asked again after catching up. */
const ROUTING_RECHECKS = 3;
/** How often expired messages are looked for while the app runs (decisions use the clock option). */
export const EXPIRY_SWEEP_MS = 1000;

export type Alarm =
  | KtAlarm
  | {
      readonly kind: 'invalid-commit' | 'fork' | 'gap' | 'tampered' | 'replay' | 'too-far-ahead';
      readonly conversationId: string;
    }
  | { readonly kind: 'rejected-credential'; readonly conversationId: string }
  /**
   * A Welcome for a conversation this device is in (someone slipping in under its id with a
   * group of their own) or one older than the conversation it left (replayed): refused.
   */
  | { readonly kind: 'conflicting-welcome'; readonly conversationId: string }
  /**
   * A conversation announced as the replacement of one that could not continue is not that
   * conversation as this device knows it: the old one is fine here (`previousWasBroken`
   * false), or the replacement brings in accounts that were not in it (`newcomers`, say
   * someone removed in the commit the resetter could not process) or leaves some out
   * (`missing`). It is not linked; it stays a request.
   */
  | {
      readonly kind: 'reset-refused';
      readonly conversationId: string;
      readonly previousConversationId: string;
      readonly previousWasBroken: boolean;
      readonly newcomers: readonly string[];
      readonly missing: readonly string[];
    }
  | {
      readonly kind: 'routing-mismatch';
      readonly conversationId: string;
      /** Mailboxes the server delivers to that are not devices on the roster (ghosts). */
      readonly extra: readonly DeviceAddress[];
      /** Roster devices the server does not deliver to (withheld delivery). */
      readonly missing: readonly DeviceAddress[];
    };

export interface MessengerEvents {
  message: { conversationId: string; message: StoredMessage };
  edit: { conversationId: string; message: StoredMessage };
  delete: { conversationId: string; messageId: string };
  reaction: { conversationId: string; message: StoredMessage };
  receipt: { conversationId: string; message: StoredMessage };
  typing: { conversationId: string; from: DeviceAddress; started: boolean };
  roster: { conversationId: string; events: readonly RosterEvent[] };
  conversation: { conversation: ConversationInfo };
  request: { conversation: ConversationInfo };
  'identity-changed': { username: string };
  /** A contact's display name changed. */
  profile: { username: string; displayName: string };
  alarm: Alarm;
  connection: { state: ConnectionState };
  /**
   * Not an alarm: a commit or Welcome has waited this long for key transparency to answer
   * (offline, the server busy). It is kept, retried, and nothing after it is processed
   * before it; the app says that messages are delayed.
   */
  'delivery-delayed': { since: number };
  /**
   * Messages of `sender` in `epoch` that never arrived, `MISSING_AFTER_MS` after they were
   * found missing (a skipped number not filled by late delivery, or the tail of an epoch
   * the sender says it sent): withheld by the server, or lost. Told once per range.
   */
  'missing-message': { conversationId: string; sender: DeviceAddress; epoch: bigint; count: number };
  /** Disappearing messages (and other timed records) were deleted from the store. */
  expired: { count: number };
}

type Listener<T> = (event: T) => void;

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
  /** Test-only: defences switched off for negative controls. Products never set it. */
  readonly unsafeTestingDisableDefences?: UnsafeTestingDisabledDefences;
}

function mailboxOf(address: DeviceAddress): Mailbox {
  return { username: address.username, deviceId: address.deviceId } as Mailbox;
}

export class Messenger {
  private readonly listeners = new Map<keyof MessengerEvents, Set<Listener<never>>>();
  private readonly http: HttpApi;
  private readonly clock: () => number;
  private connection: Connection | undefined;
  private protocol!: ProtocolClient;
  private directory!: KtDirectory;
  private identity!: StoredIdentity;
  private token: { value: Uint8Array; expiresAt: number } | undefined;
  private origin: string | undefined;
  private deliveryQueue: Promise<void> = Promise.resolve();
  private readonly conversations = new Map<string, Conversation>();
  private flushing: Promise<void> | undefined;
  private closing = false;
  /** Counts connection attempts; deliveries are tagged with the one they arrived on. */
  private session = 0;
  /**
   * A session in which a delivery was left unacknowledged (to be redelivered on the next
   * connection): nothing after it in that session is processed, so order is kept.
   */
  private deferredSession: number | undefined;
  private wakeDeliveryRetry: (() => void) | undefined;
  private missingSweep: ReturnType<typeof setInterval> | undefined;
  /**
   * The conversation whose commit is held waiting for key transparency (none for a Welcome,
   * whose conversation is not held yet): nothing new is encrypted in it meanwhile, since a
   * member that commit removes could still read the epoch it would end.
   */
  private heldConversation: string | undefined;
  /** The heal list (HEAL_SETTING) was found saved and empty. */
  private healed = false;
  private flushQueued: Promise<void> | undefined;

  private constructor(private readonly options: MessengerOptions) {
    this.http = new HttpApi(options.serverUrl, options.fetch);
    this.clock = options.clock ?? Date.now;
  }

  // --- events ---------------------------------------------------------------------------

  on<K extends keyof MessengerEvents>(kind: K, listener: Listener<MessengerEvents[K]>): () => void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit<K extends keyof MessengerEvents>(kind: K, event: MessengerEvents[K]): void {
    for (const listener of this.listeners.get(kind) ?? []) (listener as Listener<MessengerEvents[K]>)(event);
  }

  // --- account --------------------------------------------------------------------------

  /** Creates the account on the server with this device as its first device. */
  static async register(options: MessengerOptions, username: string, inviteCode = ''): Promise<Messenger> {
    // Nothing is registered on a library that would then refuse to run.
    await ProtocolClient.requireConformingLibrary();
    const messenger = new Messenger(options);
    if (await options.store.getIdentity())
      throw new ClientError('not-registered', 'this profile already has an account');
    const { account, device, deviceList } = await createAccount(username);
    await messenger.http.call(routes.register, { body: { signedDeviceList: deviceList.signed, inviteCode } });
    await options.store.putIdentity({
      serverUrl: options.serverUrl,
      username: account.username,
      identityPublicKey: account.identityKey.publicKey,
      identitySecretKey: account.identityKey.secretKey,
      deviceId: device.deviceId,
      devicePublicKey: device.signatureKey.publicKey,
      deviceSecretKey: device.signatureKey.secretKey,
      signedDeviceList: deviceList.signed,
    });
    await messenger.init();
    // A new profile has no conversation made under the old update path rule.
    await options.store.putSetting(HEAL_SETTING, new TextEncoder().encode('[]'));
    // The log's keys are pinned now, at registration.
    await messenger.directory.pin(deviceList.signed);
    await messenger.replenishKeyPackages();
    return messenger;
  }

  /** Opens the account this profile registered. */
  static async open(options: MessengerOptions): Promise<Messenger> {
    const messenger = new Messenger(options);
    await messenger.init();
    return messenger;
  }

  private async init(): Promise<void> {
    const identity = await this.options.store.getIdentity();
    if (!identity) throw new ClientError('not-registered', 'no account in this profile');
    this.identity = identity;
    this.directory = new KtDirectory(
      this.http,
      this.options.store,
      () => this.sessionToken(false),
      this.clock,
      (change) => void this.onIdentityChange(change),
      (alarm) => this.emit('alarm', alarm),
      { unsafeTestingWithoutKeyTransparency: this.disabled.keyTransparency === true },
    );
    this.protocol = await ProtocolClient.create({
      device: {
        username: identity.username,
        deviceId: identity.deviceId,
        signatureKey: { publicKey: identity.devicePublicKey, secretKey: identity.deviceSecretKey },
      },
      directory: {
        // The authentication service's lookups: a failure that decides nothing about the
        // credential (offline, 503, rate limited) travels as directory-unavailable, so the
        // commit or Welcome that needed it is retried rather than judged.
        lookup: (username) =>
          this.directory.lookup(username).catch((error: unknown) => {
            if (!this.disabled.transientLookupRetry && !isVerdict(error)) {
              throw new ProtocolError('directory-unavailable', 'the directory cannot answer now', {
                cause: error,
              });
            }
            throw error;
          }),
      },
      store: this.options.store,
      clock: this.clock,
      ...(this.options.limits ? { limits: this.options.limits } : {}),
      unsafeTestingAcceptAllCredentials: this.disabled.credentialChecks === true,
      unsafeTestingIgnoreForksAndGaps: this.disabled.forkAndGapDetection === true,
      unsafeTestingAcceptConflictingWelcomes: this.disabled.conflictingWelcomeCheck === true,
    });
    await this.startExpirySweep();
  }

  private get disabled(): UnsafeTestingDisabledDefences {
    return this.options.unsafeTestingDisableDefences ?? {};
  }

  get username(): string {
    return this.identity.username;
  }

  get deviceId(): number {
    return this.identity.deviceId;
  }

  private async serverInfo(): Promise<MessageShape<typeof ServerInfoSchema>> {
    return this.http.call(routes.serverInfo);
  }

  /** Signs in with a structure this device builds itself (DESIGN.md): label, origin, nonces. */
  private signingIn: Promise<Uint8Array> | undefined;

  private async sessionToken(refresh: boolean): Promise<Uint8Array> {
    if (!refresh && this.token && this.token.expiresAt > this.clock() + 60_000) return this.token.value;
    // Callers that need a token at the same moment share one sign-in.
    this.signingIn ??= this.signIn().finally(() => {
      this.signingIn = undefined;
    });
    return this.signingIn;
  }

  private async signIn(): Promise<Uint8Array> {
    this.origin ??= (await this.serverInfo()).origin;
    const challenge = await this.http.call(routes.challenge);
    const clientNonce = randomBytes(32);
    const platform = await createPlatformPrimitives();
    const signature = await platform.ed25519.sign(
      this.identity.deviceSecretKey,
      signInSignatureInput({
        origin: this.origin,
        serverNonce: challenge.serverNonce,
        clientNonce,
        username: this.identity.username,
        deviceId: this.identity.deviceId,
      }),
    );
    const session = await this.http.call(routes.signIn, {
      body: {
        username: this.identity.username,
        deviceId: this.identity.deviceId,
        serverNonce: challenge.serverNonce,
        clientNonce,
        signature,
      },
    });
    this.token = { value: session.sessionToken, expiresAt: Number(session.expiresAtMs) };
    return session.sessionToken;
  }

  /** Connects (and keeps reconnecting) until `close()`. Resolves once online. */
  async connect(): Promise<void> {
    if (!this.connection) {
      this.connection = new Connection({
        baseUrl: this.options.serverUrl,
        createSocket: this.options.createSocket,
        sessionToken: (refresh) => this.sessionToken(refresh),
        onDelivery: (delivery) => this.enqueueDelivery(delivery),
        onState: (state) => {
          // A new connection begins: what arrives from now on is of this one (a delivery
          // can arrive before the sign-in's answer has been handled).
          if (state === 'connecting') {
            this.session++;
            this.wakeDeliveryRetry?.();
          }
          this.emit('connection', { state });
          if (state === 'online') void this.onOnline();
        },
      });
      this.connection.start();
      this.missingSweep ??= setInterval(
        () => void this.sweepMissingMessages().catch(() => undefined),
        10_000,
      );
    }
    await this.connection.waitOnline();
  }

  private async onOnline(): Promise<void> {
    // Each step is retried on the next connection if it fails, and a failing one does not
    // skip the others: a server answering 503 to monitoring must not also skip the heal,
    // the weekly self-update or the routing check.
    try {
      await this.directory.checkKeys();
      await this.directory.monitorOwnAccount(this.identity.username);
      await this.flushOutbox();
    } catch {
      // Retried on the next connection.
    }
    await this.replenishKeyPackages().catch(() => undefined);
    await this.healUpdatePaths().catch(() => undefined);
    await this.selfUpdateDue().catch(() => undefined);
    // The server's routing lists, checked on every connect, not only after roster changes.
    await this.checkAllRoutingLists().catch(() => undefined);
  }

  /**
   * Once per profile, after the upgrade that fixed the update path rule (docs/protocol.md,
   * "The ts-mls patch"): an empty commit, which carries an update path, in every active
   * conversation. A member removed earlier by a path-less commit may have derived the
   * current epoch; after this commit it derives nothing. Conversations still to do are kept
   * in the store and retried on the next connection.
   */
  private async healUpdatePaths(): Promise<void> {
    const remaining = await this.conversationsToHeal();
    if (remaining.length === 0) return;
    const failed: string[] = [];
    for (const id of remaining) {
      try {
        await this.healConversation(id);
      } catch {
        failed.push(id);
      }
    }
    await this.saveConversationsToHeal(failed);
  }

  /** Conversations still to heal (docs/protocol.md, "Healing groups made before the fix"). */
  private async conversationsToHeal(): Promise<string[]> {
    // Once the saved list is empty it stays so: no store read on every send after that.
    if (this.healed) return [];
    const saved = await this.options.store.getSetting(HEAL_SETTING);
    if (saved) {
      const ids = JSON.parse(new TextDecoder().decode(saved)) as string[];
      this.healed = ids.length === 0;
      return ids;
    }
    // A profile from before the fix: every conversation it may still write in.
    return (await this.options.store.listConversationInfos())
      .filter((info) => info.status === 'active' || info.status === 'request')
      .map((info) => info.id);
  }

  private async saveConversationsToHeal(ids: readonly string[]): Promise<void> {
    await this.options.store.putSetting(HEAL_SETTING, new TextEncoder().encode(JSON.stringify(ids)));
  }

  /**
   * One commit with a fresh update path in a conversation made under the old rule. A commit
   * still pending from before is landed first (it may be an add without a path), so that the
   * heal itself is always a commit prepared now, with a path.
   */
  private async healConversation(id: string): Promise<void> {
    const conversation = await this.mls(id).catch(() => undefined);
    if (!conversation?.active) return;
    if (conversation.pendingCommit) await this.selfUpdate(id);
    await this.selfUpdate(id);
  }

  /** Before anything is encrypted in a conversation still to heal, it is healed. */
  private async healBeforeSending(id: string): Promise<void> {
    const remaining = await this.conversationsToHeal();
    if (!remaining.includes(id)) return;
    await this.healConversation(id);
    await this.saveConversationsToHeal((await this.conversationsToHeal()).filter((other) => other !== id));
  }

  private async checkAllRoutingLists(): Promise<void> {
    for (const info of await this.options.store.listConversationInfos()) {
      if (info.status !== 'active' && info.status !== 'request') continue;
      // One conversation's failure (offline: retried on the next connect) stops no other.
      await this.checkRoutingList(info.id).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wakeDeliveryRetry?.();
    if (this.missingSweep) clearInterval(this.missingSweep);
    this.missingSweep = undefined;
    if (this.flushRetry) clearTimeout(this.flushRetry);
    this.flushRetry = undefined;
    if (this.expirySweep) clearInterval(this.expirySweep);
    this.expirySweep = undefined;
    this.connection?.close();
    this.connection = undefined;
    await this.deliveryQueue.catch(() => undefined);
  }

  private get conn(): Connection {
    if (!this.connection) throw new ClientError('offline', 'not connected: call connect()');
    return this.connection;
  }

  async replenishKeyPackages(): Promise<void> {
    const token = await this.sessionToken(false);
    const count = await this.http.call(routes.countKeyPackages, { token });
    const suite = this.options.cipherSuite ?? defaultCiphersuite;
    if (count.oneTime >= KEY_PACKAGE_LOW_WATER && count.lastResort) return;
    const { oneTime, lastResort } = await this.protocol.generateKeyPackages(
      count.oneTime >= KEY_PACKAGE_LOW_WATER ? 0 : KEY_PACKAGE_BATCH,
      suite,
    );
    await this.http.call(routes.uploadKeyPackages, { token, body: { oneTime, lastResort } });
  }

  /** The verified device list of an account (signature checked, identity key pinned). */
  async lookup(username: string): Promise<DeviceList> {
    const list = await this.directory.lookup(username);
    if (!list) throw new ClientError('unknown-user', 'no such account');
    return list;
  }

  async safetyNumber(username: string): Promise<SafetyNumber> {
    const list = await this.lookup(username);
    return safetyNumber(
      { username: this.identity.username, identityKey: this.identity.identityPublicKey },
      { username: list.username, identityKey: list.identityKey },
    );
  }

  async markVerified(username: string): Promise<void> {
    await this.lookup(username);
    const contact = await this.contact(username);
    await this.options.store.putContact({ ...contact, verified: true, identityChangedAt: 0 });
  }

  /** Acknowledges a contact's new identity key; a verified contact becomes unverified. */
  async acknowledgeIdentityChange(username: string): Promise<void> {
    const contact = await this.contact(username);
    await this.options.store.putContact({ ...contact, verified: false, identityChangedAt: 0 });
  }

  private async contact(username: string): Promise<Contact> {
    const contact = await this.options.store.getContact(username);
    if (!contact) throw new ClientError('unknown-user', 'no such contact');
    return contact;
  }

  private async onIdentityChange(change: IdentityChange): Promise<void> {
    this.emit('identity-changed', { username: change.username });
  }

  async block(username: string): Promise<void> {
    await this.lookup(username).catch(() => undefined);
    const contact = (await this.options.store.getContact(username)) ?? {
      username,
      identityKey: new Uint8Array(0),
      verified: false,
      blocked: false,
      accepted: false,
      identityChangedAt: 0,
      displayName: '',
    };
    await this.options.store.putContact({ ...contact, blocked: true });
    for (const info of await this.options.store.listConversationInfos()) {
      if (info.status === 'request' && info.peer === username) await this.decline(info.id);
    }
  }

  async unblock(username: string): Promise<void> {
    const contact = await this.contact(username);
    await this.options.store.putContact({ ...contact, blocked: false });
  }

  // --- conversations --------------------------------------------------------------------

  async listConversations(): Promise<ConversationInfo[]> {
    return (await this.options.store.listConversationInfos()).sort((a, b) => b.lastActivity - a.lastActivity);
  }

  async conversationInfo(id: string): Promise<ConversationInfo> {
    const info = await this.options.store.getConversationInfo(id);
    if (!info) throw new ClientError('unknown-conversation', 'no such conversation');
    return info;
  }

  async members(id: string) {
    return (await this.mls(id)).members;
  }

  /**
   * Kind, admins and disappearing timer as the MLS group context holds them in the current
   * epoch: what every member holds, changed only by commits.
   */
  async settings(id: string): Promise<ConversationSettings> {
    return (await this.mls(id)).settings;
  }

  /**
   * The conversation's group code (12 digits from the epoch authenticator): members who
   * compare it out of band and see the same digits share one history up to this epoch.
   */
  async groupCode(id: string): Promise<string> {
    return (await this.mls(id)).groupCode();
  }

  async messages(id: string): Promise<StoredMessage[]> {
    await this.sweepExpired();
    return this.options.store.listMessages(id);
  }

  // --- disappearing messages and conversation settings ----------------------------------

  private expirySweep: ReturnType<typeof setInterval> | undefined;
  private sweeping: Promise<number> | undefined;

  /**
   * Deletes every message whose time has come (by the clock option), from the store itself:
   * at open, then every `expirySweepMs` while the app runs, whether or not anything lists
   * messages. Emits `expired` when it deleted something; returns how many records went.
   */
  async sweepExpired(): Promise<number> {
    this.sweeping ??= (async () => {
      try {
        const count = await this.options.store.deleteExpiredMessages(this.clock());
        if (count > 0) this.emit('expired', { count });
        return count;
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  private async startExpirySweep(): Promise<void> {
    await this.sweepExpired();
    const every = Math.max(this.options.expirySweepMs ?? EXPIRY_SWEEP_MS, 50);
    this.expirySweep = setInterval(() => void this.sweepExpired().catch(() => undefined), every);
    // A timer must not keep a command-line process alive after its work is done.
    (this.expirySweep as { unref?: () => void }).unref?.();
  }

  /**
   * When a received message disappears: after the stricter (shorter, non-zero) of the
   * conversation's timer, from the MLS group context, and the timer the message carries.
   */
  private async expiryOf(id: string, info: ConversationInfo, messageSeconds: number, now: number) {
    const seconds = this.disabled.sharedDisappearingTimer
      ? info.disappearingSeconds
      : effectiveDisappearingSeconds((await this.mls(id)).settings.disappearingSeconds, messageSeconds);
    return seconds > 0 ? now + seconds * 1000 : 0;
  }

  /** A group's admins: the MLS group context's list; this device's earlier view until it has one. */
  private async adminsOf(id: string, info: ConversationInfo): Promise<readonly string[]> {
    if (this.disabled.authenticatedAdmins) return info.admins;
    const settings = (await this.mls(id)).settings;
    return settings.kind === 'group' && settings.admins.length === 0 ? info.admins : settings.admins;
  }

  /**
   * Copies admins and timer from the group context (after a join or a commit) into the stored
   * info that the apps show. A group without an admin list in its group context yet keeps
   * this device's earlier view of its admins until its first settings commit.
   */
  private async syncSettings(id: string, settings: ConversationSettings): Promise<void> {
    const info = await this.options.store.getConversationInfo(id);
    if (!info) return;
    const keepAdmins =
      this.disabled.authenticatedAdmins || (settings.kind === 'group' && settings.admins.length === 0);
    const admins = keepAdmins ? info.admins : [...settings.admins];
    const disappearingSeconds = this.disabled.sharedDisappearingTimer
      ? info.disappearingSeconds
      : settings.disappearingSeconds;
    if (
      disappearingSeconds === info.disappearingSeconds &&
      admins.length === info.admins.length &&
      admins.every((a, i) => a === info.admins[i])
    ) {
      return;
    }
    const updated = { ...info, admins, disappearingSeconds };
    await this.options.store.putConversationInfo(updated);
    this.emit('conversation', { conversation: updated });
  }

  private async mls(id: string): Promise<Conversation> {
    const cached = this.conversations.get(id);
    if (cached) return cached;
    const conversation = await this.protocol.conversation(fromHex(id));
    if (!conversation) throw new ClientError('unknown-conversation', 'no such conversation');
    this.conversations.set(id, conversation);
    return conversation;
  }

  /** The existing 1:1 conversation with `username`, or a new one. */
  async direct(username: string): Promise<string> {
    for (const info of await this.options.store.listConversationInfos()) {
      if (info.kind === 'direct' && info.peer === username && info.status === 'active') return info.id;
    }
    return this.create('direct', [username], '');
  }

  async createGroup(name: string, usernames: readonly string[]): Promise<string> {
    const id = await this.create('group', usernames, name);
    if (name) await this.send(id, contentBody.groupName(name));
    // The admin list is in the group's creation (MLS group context); the old content message
    // only for the negative control of what that prevents.
    if (this.disabled.authenticatedAdmins)
      await this.send(id, contentBody.groupAdmins([this.identity.username]));
    return id;
  }

  private async create(
    kind: 'direct' | 'group',
    usernames: readonly string[],
    name: string,
  ): Promise<string> {
    const others = [...new Set(usernames.filter((u) => u !== this.identity.username))];
    if (kind === 'direct' && others.length !== 1)
      throw new ClientError('unknown-user', 'a 1:1 needs one other account');
    for (const username of others) {
      if ((await this.options.store.getContact(username))?.blocked)
        throw new ClientError('blocked', 'account is blocked');
    }
    // Every account is looked up before anything exists: a lookup that fails (no such
    // account, a key transparency proof refused) must not leave an empty conversation that
    // direct() would hand out again.
    for (const username of others) await this.acceptContact(username);
    const conversation = await this.protocol.createConversation({
      kind,
      cipherSuite: this.options.cipherSuite ?? defaultCiphersuite,
    });
    const id = toHex(conversation.groupId);
    await this.conn.request({ case: 'createGroup', value: { groupId: conversation.groupId } });
    this.conversations.set(id, conversation);
    const info: ConversationInfo = {
      id,
      kind,
      status: 'active',
      name,
      admins: this.disabled.authenticatedAdmins
        ? [this.identity.username]
        : [...conversation.settings.admins],
      ...(kind === 'direct' ? { peer: others[0]! } : {}),
      unread: 0,
      lastActivity: this.clock(),
      sentSinceUpdate: 0,
      lastUpdateAt: this.clock(),
      disappearingSeconds: 0,
    };
    await this.options.store.putConversationInfo(info);
    if (others.length > 0) {
      try {
        await this.addMembersNow(id, others);
      } catch (error) {
        // Nobody could be added: the conversation would only be an empty shell.
        await this.forget(id);
        throw error;
      }
    }
    this.emit('conversation', { conversation: info });
    return id;
  }

  /** Removes a conversation this device alone holds (never used, or replaced). */
  private async forget(id: string): Promise<void> {
    this.conversations.delete(id);
    await this.options.store.deleteConversation(fromHex(id));
    const info = await this.options.store.getConversationInfo(id);
    if (info) await this.options.store.putConversationInfo({ ...info, status: 'left' });
  }

  private async acceptContact(username: string): Promise<void> {
    await this.lookup(username);
    const contact = await this.contact(username);
    if (!contact.accepted) await this.options.store.putContact({ ...contact, accepted: true });
  }

  /** Adds accounts (all their devices). Throws `missing-key-packages` naming none of them silently. */
  async addMembers(id: string, usernames: readonly string[]): Promise<void> {
    await this.addMembersNow(id, usernames);
    // The group's name is a message, which those just added never received: say it again.
    const info = await this.conversationInfo(id);
    if (
      info.kind === 'group' &&
      info.name &&
      (info.admins.length === 0 || info.admins.includes(this.username))
    ) {
      await this.send(id, contentBody.groupName(info.name));
    }
  }

  private async addMembersNow(id: string, usernames: readonly string[]): Promise<void> {
    await this.commitWithRetry(id, async (conversation) => {
      const additions = [];
      for (const username of usernames) {
        const claimed = await this.http.call(routes.claimKeyPackages, {
          token: await this.sessionToken(false),
          body: { username, deviceIds: [] },
        });
        additions.push({
          username,
          keyPackages: new Map(claimed.keyPackages.map((k) => [k.deviceId, k.keyPackage])),
        });
      }
      const { pending, missing } = await conversation.prepareAddMembers(additions);
      if (missing.length > 0 || !pending) {
        throw new ClientError(
          'missing-key-packages',
          `no key package for ${missing.map((m) => `${m.username}/${m.deviceId}`).join(', ')}`,
        );
      }
      return pending;
    });
  }

  async removeMember(id: string, username: string): Promise<void> {
    await this.commitWithRetry(id, (conversation) => conversation.prepareRemoveMembers([username]));
  }

  /** Leaves a conversation: a proposal the next committer includes. */
  async leave(id: string): Promise<void> {
    const conversation = await this.mls(id);
    const message = await conversation.proposeLeave();
    await this.enqueue(id, message);
    const info = await this.conversationInfo(id);
    await this.options.store.putConversationInfo({ ...info, status: 'left' });
  }

  async accept(id: string): Promise<void> {
    const info = await this.conversationInfo(id);
    await this.options.store.putConversationInfo({ ...info, status: 'active' });
    for (const member of (await this.mls(id)).members) {
      if (member.username !== this.identity.username) await this.acceptContact(member.username);
    }
  }

  async decline(id: string): Promise<void> {
    const info = await this.conversationInfo(id);
    const conversation = await this.mls(id);
    if (conversation.active) await this.enqueue(id, await conversation.proposeLeave());
    await this.options.store.putConversationInfo({ ...info, status: 'declined' });
  }

  async selfUpdate(id: string): Promise<void> {
    await this.commitWithRetry(id, (conversation) => conversation.prepareSelfUpdate());
    const info = await this.conversationInfo(id);
    await this.options.store.putConversationInfo({ ...info, sentSinceUpdate: 0, lastUpdateAt: this.clock() });
  }

  /** Every conversation whose last self-update is older than 7 days gets one (DESIGN.md). */
  async selfUpdateDue(): Promise<void> {
    for (const info of await this.options.store.listConversationInfos()) {
      if (info.status !== 'active') continue;
      if (this.clock() - info.lastUpdateAt >= SELF_UPDATE_INTERVAL_MS) await this.selfUpdate(info.id);
    }
  }

  /**
   * Runs a commit to completion: prepare, send the same bytes until the server answers,
   * confirm; on stale-epoch, discard, wait for the winning commit, and prepare again.
   */
  private async commitWithRetry(
    id: string,
    prepare: (conversation: Conversation) => Promise<PendingCommit>,
  ): Promise<void> {
    const conversation = await this.mls(id);
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const pending = conversation.pendingCommit ?? (await prepare(conversation));
      try {
        await this.conn.request({
          case: 'sendCommit',
          value: {
            clientId: fromHex(pending.id),
            commit: pending.commit,
            welcome: pending.welcome ?? new Uint8Array(0),
            remove: pending.routing.remove.map(mailboxOf),
          },
        });
      } catch (err) {
        if (isRetryable(err)) {
          // The same bytes, under the same id, a little later.
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(Math.max(err.retryAfterMs ?? 1000, 50), 60_000)),
          );
          continue;
        }
        if (ApiError.is(err, 'unknown-key-package')) {
          // A Welcome naming a key package this device's claim no longer covers (it expired,
          // or was made before claims named the claiming device): claim again and rebuild.
          await conversation.discard(pending.id);
          continue;
        }
        if (!ApiError.is(err, 'stale-epoch')) throw err;
        await conversation.discard(pending.id);
        await this.waitForEpochAfter(conversation, pending.epoch);
        continue;
      }
      const events = await conversation.confirm(pending.id);
      this.directory.invalidate();
      await this.afterRosterChange(id, conversation, events);
      return;
    }
    throw new ClientError('retry-exhausted', 'could not land the commit');
  }

  /** Waits (in real time, up to `ms`) until the delivery queue has moved past `epoch`. */
  private async waitForEpochAfter(conversation: Conversation, epoch: bigint, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (conversation.epoch <= epoch && Date.now() < deadline) {
      // The queue may be waiting on something itself (a delivery retried, or this very call
      // made from inside it): the deadline holds either way.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.deliveryQueue,
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async afterRosterChange(id: string, conversation: Conversation, events: readonly RosterEvent[]) {
    await this.syncSettings(id, conversation.settings);
    if (events.length > 0) this.emit('roster', { conversationId: id, events });
    // Not awaited: this runs inside the delivery queue, and an answer for a later epoch is
    // checked again once the queue has caught up, which it cannot while this waits.
    void this.checkRoutingList(id, conversation).catch(() => undefined);
  }

  /** DESIGN.md: the routing list must hold exactly the roster's devices; a ghost mailbox alarms. */
  async checkRoutingList(id: string, conversation?: Conversation): Promise<void> {
    if (this.disabled.routingCheck) return;
    const mls = conversation ?? (await this.mls(id));
    if (!mls.active) return;
    let result = await this.askRoutingList(mls);
    // An answer for another epoch: a commit is in flight, or one is withheld from this
    // device. Catch up (or let the server) and ask again; an answer that never matches this
    // member's epoch is compared with its roster all the same (a withheld commit, or a server
    // evading the check, shows as a mismatch).
    for (let recheck = 0; recheck < ROUTING_RECHECKS && (!result || result.epoch !== mls.epoch); recheck++) {
      if (result && result.epoch > mls.epoch) await this.waitForEpochAfter(mls, result.epoch - 1n, 5_000);
      else await new Promise((resolve) => setTimeout(resolve, 500));
      if (!mls.active) return;
      result = await this.askRoutingList(mls);
    }
    // A server that will not say where it delivers (refusals, answers that are not a routing
    // list) is not believed to deliver anywhere: every roster device shows as missing.
    const members = result?.members ?? [];
    const key = (m: { username: string; deviceId: number }) => `${m.username}/${m.deviceId}`;
    const roster = new Set(mls.devices.map(key));
    const routed = new Set(members.map(key));
    const extra = members
      .filter((m) => !roster.has(key(m)))
      .map((m) => ({ username: m.username, deviceId: m.deviceId }));
    const missing = mls.devices.filter((d) => !routed.has(key(d)));
    if (extra.length > 0 || missing.length > 0) {
      this.emit('alarm', { kind: 'routing-mismatch', conversationId: id, extra, missing });
    }
  }

  /**
   * The server's routing list for the conversation, or undefined when the server refuses or
   * answers something else. Offline throws (the check is retried on the next connect).
   */
  private async askRoutingList(
    mls: Conversation,
  ): Promise<{ epoch: bigint; members: readonly { username: string; deviceId: number }[] } | undefined> {
    try {
      const result = await this.conn.request({ case: 'getRoutingList', value: { groupId: mls.groupId } });
      return result.case === 'routingList' ? result.value : undefined;
    } catch (error) {
      if (ApiError.is(error)) return undefined;
      throw error;
    }
  }

  // --- sending --------------------------------------------------------------------------

  /** Encrypts content, stores it in the outbox, and sends it (now, or on reconnect). */
  async send(
    id: string,
    body: Content['body'],
    options: { expiresInSeconds?: number } = {},
  ): Promise<string> {
    const info = await this.conversationInfo(id);
    if (info.status !== 'active') throw new ClientError('unknown-conversation', 'conversation is not active');
    if (this.heldConversation === id) {
      throw new ClientError(
        'verification-pending',
        'a change to this conversation is waiting for its keys to be checked: try again shortly',
      );
    }
    // Receipts and typing go out from inside the delivery queue, which a heal's commit may
    // have to wait for; they say little, and the heal comes with the next real message.
    if (body.case !== 'receipt' && body.case !== 'typing') await this.healBeforeSending(id);
    const conversation = await this.mls(id);
    for (const member of conversation.members) {
      const contact = await this.options.store.getContact(member.username);
      if (contact?.verified && contact.identityChangedAt > 0) {
        throw new ClientError(
          'identity-changed',
          'a verified contact’s identity changed: acknowledge it first',
        );
      }
    }
    // The timer in effect travels in the message; a per-message timer can only be stricter.
    const seconds = this.disabled.sharedDisappearingTimer
      ? (options.expiresInSeconds ?? info.disappearingSeconds)
      : effectiveDisappearingSeconds(
          conversation.settings.disappearingSeconds,
          options.expiresInSeconds ?? 0,
        );
    const { message, messageId } = await conversation.encrypt(body, {
      ...(this.directory.newestCheckpoint ? { ktCheckpoint: this.directory.newestCheckpoint } : {}),
      expiresInSeconds: this.disabled.sharedDisappearingTimer ? 0 : seconds,
    });
    const hexId = toHex(messageId);
    const shown = body.case === 'text' || body.case === 'attachment';
    if (shown) {
      await this.options.store.putMessage(
        shownMessage(body, {
          conversationId: id,
          id: hexId,
          sender: { username: this.identity.username, deviceId: this.identity.deviceId },
          sentAt: this.clock(),
          receivedAt: this.clock(),
          state: 'sending',
          expiresAt: seconds > 0 ? this.clock() + seconds * 1000 : 0,
        }),
      );
    }
    await this.enqueue(id, message, shown ? hexId : undefined);
    const updated = await this.conversationInfo(id);
    updated.sentSinceUpdate += 1;
    updated.lastActivity = this.clock();
    await this.options.store.putConversationInfo(updated);
    if (updated.sentSinceUpdate >= SELF_UPDATE_MESSAGES && this.connection?.connectionState === 'online') {
      // Not awaited: a send may come from inside the delivery queue (a receipt), and a commit
      // that loses a race waits for that queue.
      void this.selfUpdate(id).catch(() => undefined);
    }
    return hexId;
  }

  sendText(id: string, text: string, replyTo?: string): Promise<string> {
    return this.send(id, contentBody.text(text, replyTo ? fromHex(replyTo) : undefined));
  }

  react(id: string, messageId: string, emoji: string, remove = false): Promise<string> {
    return this.send(id, contentBody.reaction(fromHex(messageId), emoji, remove));
  }

  async edit(id: string, messageId: string, text: string): Promise<void> {
    const message = await this.options.store.getMessage(id, messageId);
    if (!message || message.sender.username !== this.identity.username) {
      throw new ClientError('unknown-conversation', 'only your own messages can be edited');
    }
    await this.send(id, contentBody.edit(fromHex(messageId), text));
    await this.options.store.putMessage({ ...message, text, edited: true });
  }

  async deleteForEveryone(id: string, messageId: string): Promise<void> {
    const message = await this.options.store.getMessage(id, messageId);
    if (!message || message.sender.username !== this.identity.username) {
      throw new ClientError('unknown-conversation', 'only your own messages can be deleted');
    }
    await this.send(id, contentBody.delete(fromHex(messageId)));
    await this.options.store.deleteMessage(id, messageId);
  }

  async markRead(id: string): Promise<void> {
    const unread = (await this.options.store.listMessages(id)).filter(
      (m) => m.state === 'received' && m.sender.username !== this.identity.username,
    );
    const info = await this.conversationInfo(id);
    await this.options.store.putConversationInfo({ ...info, unread: 0 });
    if (unread.length === 0) return;
    await this.send(
      id,
      contentBody.receipt(
        'read',
        unread.slice(-100).map((m) => fromHex(m.id)),
      ),
    );
    // For a received message, `read` means this account read it: its receipt is not sent again.
    for (const m of unread) await this.options.store.putMessage({ ...m, state: 'read' });
  }

  typing(id: string, started: boolean): Promise<string> {
    return this.send(id, contentBody.typing(started));
  }

  /**
   * Sets the conversation's disappearing timer (0 = off) by a commit: every member, and
   * everyone added later, holds it in the same epoch. In a group only an admin may (a 1:1:
   * either member); otherwise ProtocolError('not-allowed') and nothing is sent.
   */
  async setDisappearing(id: string, seconds: number): Promise<void> {
    if (this.disabled.sharedDisappearingTimer) {
      await this.send(id, contentBody.disappearingTimer(seconds));
      const info = await this.conversationInfo(id);
      await this.options.store.putConversationInfo({ ...info, disappearingSeconds: seconds });
      return;
    }
    await this.updateSettings(id, { disappearingSeconds: seconds });
  }

  /**
   * Replaces a group's admin list by a commit (only an admin may; the list names members and
   * is never empty). Every member, and everyone added later, holds the same list.
   */
  async setAdmins(id: string, usernames: readonly string[]): Promise<void> {
    if (this.disabled.authenticatedAdmins) {
      await this.send(id, contentBody.groupAdmins([...usernames]));
      const info = await this.conversationInfo(id);
      await this.options.store.putConversationInfo({ ...info, admins: [...usernames] });
      return;
    }
    await this.updateSettings(id, { admins: usernames });
  }

  /** A settings commit through the commit lifecycle; the stored info follows the new settings. */
  private async updateSettings(
    id: string,
    change: { admins?: readonly string[]; disappearingSeconds?: number },
  ): Promise<void> {
    const info = await this.conversationInfo(id);
    if (info.status !== 'active') throw new ClientError('unknown-conversation', 'conversation is not active');
    await this.commitWithRetry(id, (conversation) => {
      const members = new Set(conversation.members.map((m) => m.username));
      // A group made before settings were in the group context has no admin list there: its
      // first settings commit sets one, from this device's earlier view if it named us.
      const seed =
        change.admins === undefined &&
        conversation.settings.kind === 'group' &&
        conversation.settings.admins.length === 0 &&
        info.admins.includes(this.identity.username)
          ? { admins: info.admins.filter((a) => members.has(a)) }
          : {};
      return conversation.prepareUpdateSettings({ ...change, ...seed });
    });
  }

  async setGroupName(id: string, name: string): Promise<void> {
    await this.send(id, contentBody.groupName(name));
    const info = await this.conversationInfo(id);
    await this.options.store.putConversationInfo({ ...info, name });
  }

  async setProfileName(displayName: string): Promise<void> {
    for (const info of await this.options.store.listConversationInfos()) {
      if (info.status === 'active') await this.send(info.id, contentBody.profile(displayName));
    }
  }

  private async enqueue(groupId: string, message: Uint8Array, messageId?: string): Promise<void> {
    const entry: OutboxEntry = {
      clientId: toHex(randomBytes(16)),
      groupId,
      message,
      ...(messageId ? { messageId } : {}),
      createdAt: this.clock(),
    };
    await this.options.store.putOutbox(entry);
    if (this.connection?.connectionState === 'online') await this.flushOutbox();
  }

  /** Sends every outbox entry, oldest first; each is removed only once the server accepted it. */
  async flushOutbox(): Promise<void> {
    if (this.flushing) {
      // The running pass listed the outbox before the caller's entry was added: one more
      // pass after it (shared by everyone who asks meanwhile).
      this.flushQueued ??= this.flushing
        .catch(() => undefined)
        .then(() => {
          this.flushQueued = undefined;
          return this.flushOutbox();
        });
      return this.flushQueued;
    }
    this.flushing = (async () => {
      try {
        for (const entry of await this.options.store.listOutbox()) {
          try {
            await this.conn.request({
              case: 'sendMessage',
              value: { clientId: fromHex(entry.clientId), message: entry.message },
            });
          } catch (err) {
            if (err instanceof ClientError) return; // Offline: the rest waits for reconnection.
            if (isRetryable(err)) {
              // Rate-limited or briefly unavailable: keep it (and the rest, in order) for later.
              this.retryFlushLater(err.retryAfterMs);
              return;
            }
            // The server refused it for good (e.g. removed from the group): drop it.
            await this.options.store.deleteOutbox(entry.clientId);
            continue;
          }
          await this.options.store.deleteOutbox(entry.clientId);
          if (entry.messageId) {
            const stored = await this.options.store.getMessage(entry.groupId, entry.messageId);
            if (stored?.state === 'sending')
              await this.options.store.putMessage({ ...stored, state: 'sent' });
          }
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private flushRetry: ReturnType<typeof setTimeout> | undefined;

  private retryFlushLater(afterMs: number | undefined): void {
    if (this.flushRetry) return;
    this.flushRetry = setTimeout(
      () => {
        this.flushRetry = undefined;
        if (this.connection?.connectionState === 'online') void this.flushOutbox().catch(() => undefined);
      },
      Math.min(Math.max(afterMs ?? 1000, 50), 60_000),
    );
  }

  async pendingOutbox(): Promise<number> {
    return (await this.options.store.listOutbox()).length;
  }

  // --- attachments ----------------------------------------------------------------------

  /** Encrypts a file with a fresh key, uploads it, and sends a pointer to it. */
  async sendAttachment(
    id: string,
    file: { bytes: Uint8Array; contentType: string; fileName: string; caption?: string },
    onProgress?: (sent: number, total: number) => void,
  ): Promise<string> {
    const platform = await createPlatformPrimitives();
    const key = platform.randomBytes(32);
    // A fresh key per blob: the all-zero nonce is used exactly once.
    const blob = await platform.aesGcmSeal(key, new Uint8Array(12), new Uint8Array(0), file.bytes);
    const digest = await platform.digest('SHA-256', blob);
    const uploaded = await this.http.uploadBlob(blob, await this.sessionToken(false), onProgress);
    return this.send(id, {
      case: 'attachment',
      value: {
        $typeName: 'ghostproof.content.v1.Attachment',
        id: uploaded.id,
        key,
        digest,
        size: BigInt(file.bytes.length),
        contentType: file.contentType,
        fileName: file.fileName,
        token: uploaded.token,
        caption: file.caption ?? '',
      },
    });
  }

  /** Downloads, checks the digest, and decrypts an attachment. */
  async downloadAttachment(
    attachment: AttachmentInfo,
    onProgress?: (received: number, total: number) => void,
  ): Promise<Uint8Array> {
    const platform = await createPlatformPrimitives();
    const blob = await this.http.downloadBlob(
      attachment.id,
      attachment.token,
      attachment.size + 16,
      onProgress,
    );
    const digest = await platform.digest('SHA-256', blob);
    if (toHex(digest) !== toHex(attachment.digest)) {
      throw new ClientError('attachment-corrupted', 'attachment digest does not match');
    }
    return platform.aesGcmOpen(attachment.key, new Uint8Array(12), new Uint8Array(0), blob);
  }

  // --- receiving ------------------------------------------------------------------------

  private enqueueDelivery(delivery: Delivery): void {
    const session = this.session;
    this.deliveryQueue = this.deliveryQueue
      .then(() => this.handleDelivery(delivery, session))
      .catch(() => undefined);
  }

  /** Resolves when every delivery received so far has been processed. */
  async idle(): Promise<void> {
    await this.deliveryQueue;
  }

  private async ack(delivery: Delivery): Promise<void> {
    await this.conn
      .request({ case: 'ack', value: { messageIds: [delivery.messageId] } })
      .catch(() => undefined);
  }

  /**
   * Processes one delivery, then records and acknowledges it. A delivery that waits for an
   * answer the directory cannot give now is retried here with backoff, and the queue waits
   * behind it: a later commit or message of its group must not be processed first (it would
   * raise `gap`). If it cannot be processed on this connection at all, it is left
   * unacknowledged, and so is everything after it on the same connection: the server sends
   * them again, in order, on the next one.
   */
  private async handleDelivery(delivery: Delivery, session: number): Promise<void> {
    if (this.deferredSession === session) return;
    const deliveryId = toHex(delivery.messageId);
    if (await this.options.store.hasDelivery(deliveryId)) {
      await this.ack(delivery);
      return;
    }
    const startedAt = this.clock();
    let told = false;
    for (let attempt = 0; ; attempt++) {
      try {
        if (delivery.kind === DeliveryKind.WELCOME) await this.handleWelcome(delivery.message);
        else await this.handleGroupMessage(delivery.message);
        break;
      } catch (err) {
        const waiting = ProtocolError.is(err, 'directory-unavailable');
        if (waiting) this.heldConversation = heldConversationOf(delivery);
        if (!waiting && !ClientError.is(err, 'offline')) break; // Reported as an alarm; consumed.
        if (!waiting || this.closing || this.session !== session) {
          this.deferredSession = session; // Not acked: redelivered, in order, later.
          this.heldConversation = undefined;
          return;
        }
        if (!told && this.clock() - startedAt >= DELIVERY_DELAY_NOTICE_MS) {
          told = true;
          this.emit('delivery-delayed', { since: startedAt });
        }
        const backoff = Math.min(LOOKUP_RETRY_MIN_MS * 2 ** Math.min(attempt, 16), LOOKUP_RETRY_MAX_MS);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoff);
          // Closing, or a new connection, ends the wait at once.
          this.wakeDeliveryRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeDeliveryRetry = undefined;
      }
    }
    this.heldConversation = undefined;
    await this.options.store.putDelivery(deliveryId, this.clock());
    await this.ack(delivery);
  }

  private async handleWelcome(welcome: Uint8Array): Promise<void> {
    let conversation: Conversation;
    try {
      conversation = await this.protocol.joinFromWelcome(welcome);
    } catch (err) {
      if (ProtocolError.is(err, 'not-a-member')) return;
      if (ProtocolError.is(err, 'directory-unavailable')) throw err; // Retried, never an alarm.
      if (ProtocolError.is(err, 'conflicting-welcome')) {
        this.emit('alarm', {
          kind: 'conflicting-welcome',
          conversationId: toHex(err.groupId ?? new Uint8Array()),
        });
        throw err;
      }
      this.emit('alarm', { kind: 'rejected-credential', conversationId: '' });
      throw err;
    }
    const id = toHex(conversation.groupId);
    this.conversations.set(id, conversation);
    const others = conversation.members.filter((m) => m.username !== this.identity.username);
    const blocked = [];
    let known = false;
    for (const member of others) {
      const contact = await this.options.store.getContact(member.username);
      if (contact?.blocked) blocked.push(member.username);
      if (contact?.accepted) known = true;
    }
    // A conversation this device had before (left, removed, or broken) and is invited to
    // again: nothing proves it is the same group (anyone can make one under its id), so it
    // is a request, whoever is in it.
    const again = (await this.options.store.getConversationInfo(id)) !== undefined;
    const info: ConversationInfo = {
      id,
      kind: conversation.kind,
      status: known && !again ? 'active' : 'request',
      name: '',
      // Admins and timer as the Welcome's group context says, authenticated by the group.
      admins: this.disabled.authenticatedAdmins ? [] : [...conversation.settings.admins],
      ...(conversation.kind === 'direct' && others[0] ? { peer: others[0].username } : {}),
      unread: 0,
      lastActivity: this.clock(),
      sentSinceUpdate: 0,
      lastUpdateAt: this.clock(),
      disappearingSeconds: this.disabled.sharedDisappearingTimer
        ? 0
        : conversation.settings.disappearingSeconds,
    };
    await this.options.store.putConversationInfo(info);
    if (conversation.kind === 'direct' && blocked.length > 0) {
      await this.decline(id);
      return;
    }
    this.emit(info.status === 'request' ? 'request' : 'conversation', { conversation: info });
  }

  private async handleGroupMessage(bytes: Uint8Array): Promise<void> {
    const header = readMlsMessageHeader(bytes, { maxBytes: 16 * 1024 * 1024 });
    if (!('groupId' in header)) return;
    const id = toHex(header.groupId);
    let conversation: Conversation;
    try {
      conversation = await this.mls(id);
    } catch {
      return; // Not a conversation of ours (e.g. one we declined and deleted).
    }
    let outcome;
    try {
      outcome = await conversation.process(bytes);
    } catch (err) {
      if (ProtocolError.is(err, 'directory-unavailable')) throw err; // Retried, never an alarm.
      if (err instanceof ProtocolError) {
        const kind = ALARM_OF_PROTOCOL_ERROR[err.code];
        if (kind) this.emit('alarm', { kind, conversationId: id });
        if (err.code === 'invalid-commit') await this.resetGroup(id).catch(() => undefined);
        return;
      }
      throw err;
    }
    if (outcome.kind === 'commit') {
      this.directory.invalidate();
      await this.afterRosterChange(id, conversation, outcome.events);
      if (outcome.events.some((e) => e.kind === 'you-were-removed' || e.kind === 'you-left')) {
        const info = await this.conversationInfo(id);
        if (info.status !== 'declined')
          await this.options.store.putConversationInfo({ ...info, status: 'left' });
      }
      return;
    }
    if (outcome.kind === 'proposal') {
      // A member leaving: commit it soon, so the roster shows it (any member may). Not awaited:
      // this runs inside the delivery queue, and a commit that loses the race to another
      // member's waits for that commit, which the queue delivers only after this returns.
      const info = await this.conversationInfo(id);
      if (info.status === 'active') void this.selfUpdate(id).catch(() => undefined);
      return;
    }
    if (outcome.kind !== 'message') return;
    await this.applyContent(id, outcome.sender, outcome.content);
    await this.reportMissingMessages(id, conversation);
  }

  private async reportMissingMessages(id: string, conversation: Conversation): Promise<void> {
    for (const missing of await conversation.takeMissingMessages()) {
      this.emit('missing-message', { conversationId: id, ...missing });
    }
  }

  /** Every loaded conversation's overdue missing messages, and overdue resets (run on a timer). */
  private async sweepMissingMessages(): Promise<void> {
    for (const [id, conversation] of this.conversations) await this.reportMissingMessages(id, conversation);
    await this.resetOverdue();
  }

  private async applyContent(id: string, sender: DeviceAddress, content: Content): Promise<void> {
    const info = await this.conversationInfo(id);
    if ((await this.options.store.getContact(sender.username))?.blocked) return;
    if (info.status === 'declined') return;
    const messageId = toHex(content.messageId);
    const now = this.clock();
    const body = content.body;
    // A peer's view of the log: consistent with ours, or evidence of a split view.
    if (content.ktCheckpoint && !this.disabled.checkpointExchange)
      await this.directory.observeCheckpoint(content.ktCheckpoint).catch(() => undefined);
    switch (body.case) {
      case 'text':
      case 'attachment': {
        const message = shownMessage(body, {
          conversationId: id,
          id: messageId,
          sender,
          sentAt: Number(content.sentAt),
          receivedAt: now,
          state: 'received',
          expiresAt: await this.expiryOf(id, info, content.expiresInSeconds, now),
        });
        await this.options.store.putMessage(message);
        await this.options.store.putConversationInfo({ ...info, unread: info.unread + 1, lastActivity: now });
        this.emit('message', { conversationId: id, message });
        if (info.status === 'active') {
          await this.send(id, contentBody.receipt('delivered', [content.messageId])).catch(() => undefined);
        }
        return;
      }
      case 'edit': {
        const target = await this.options.store.getMessage(id, toHex(body.value.target));
        if (!target || target.sender.username !== sender.username) return;
        const edited = { ...target, text: body.value.text, edited: true };
        await this.options.store.putMessage(edited);
        this.emit('edit', { conversationId: id, message: edited });
        return;
      }
      case 'delete': {
        const target = await this.options.store.getMessage(id, toHex(body.value.target));
        if (!target || target.sender.username !== sender.username) return;
        await this.options.store.deleteMessage(id, target.id);
        this.emit('delete', { conversationId: id, messageId: target.id });
        return;
      }
      case 'reaction': {
        const target = await this.options.store.getMessage(id, toHex(body.value.target));
        if (!target) return;
        const mine = new Set(target.reactions[sender.username] ?? []);
        if (body.value.remove) mine.delete(body.value.emoji);
        else mine.add(body.value.emoji);
        const reacted = { ...target, reactions: { ...target.reactions, [sender.username]: [...mine] } };
        await this.options.store.putMessage(reacted);
        this.emit('reaction', { conversationId: id, message: reacted });
        return;
      }
      case 'receipt': {
        for (const targetId of body.value.targets.slice(0, 100)) {
          const target = await this.options.store.getMessage(id, toHex(targetId));
          if (!target || target.sender.username !== this.identity.username) continue;
          const read = body.value.kind === Receipt_Kind.READ;
          const updated: StoredMessage = {
            ...target,
            deliveredTo: [...new Set([...target.deliveredTo, sender.username])],
            readTo: read ? [...new Set([...target.readTo, sender.username])] : target.readTo,
          };
          updated.state = updated.readTo.length > 0 ? 'read' : 'delivered';
          await this.options.store.putMessage(updated);
          this.emit('receipt', { conversationId: id, message: updated });
        }
        return;
      }
      case 'typing':
        this.emit('typing', { conversationId: id, from: sender, started: body.value.started });
        return;
      case 'disappearingTimer':
        // Retired: the timer is in the MLS group context (docs/protocol.md). Only the negative
        // control's old client still takes it from this message.
        if (!this.disabled.sharedDisappearingTimer) return;
        await this.options.store.putConversationInfo({ ...info, disappearingSeconds: body.value.seconds });
        this.emit('conversation', { conversation: await this.conversationInfo(id) });
        return;
      case 'groupName': {
        const admins = await this.adminsOf(id, info);
        if (info.kind === 'group' && (admins.length === 0 || admins.includes(sender.username))) {
          await this.options.store.putConversationInfo({ ...info, name: body.value.name.slice(0, 200) });
          this.emit('conversation', { conversation: await this.conversationInfo(id) });
        }
        return;
      }
      case 'groupAdmins':
        // Retired: a content message never changes anyone's admin list; the MLS group context
        // is the only source. Only the negative control's old client still takes it
        // ("first sender wins").
        if (!this.disabled.authenticatedAdmins) return;
        if (info.admins.length === 0 || info.admins.includes(sender.username)) {
          await this.options.store.putConversationInfo({
            ...info,
            admins: body.value.usernames.slice(0, 64),
          });
          this.emit('conversation', { conversation: await this.conversationInfo(id) });
        }
        return;
      case 'groupReset': {
        // A member reset a conversation we share that could not continue: link the two, but
        // only if it is that conversation as this device knows it. The old one must be broken
        // here too, and the replacement must hold exactly its accounts less those the refused
        // commit removed: nobody brought in (a ghost, someone removed in a commit the resetter
        // never processed), nobody left out. Anything else stays a separate conversation.
        const previousId = toHex(body.value.previousGroupId);
        const previous = await this.options.store.getConversationInfo(previousId);
        if (!previous || previousId === id) return;
        const old = await this.mls(previousId).catch(() => undefined);
        if (!old || !old.members.some((m) => m.username === sender.username)) return;
        const expected = new Set(survivingAccounts(old));
        const actual = new Set((await this.members(id)).map((m) => m.username));
        const newcomers = [...actual].filter((u) => !expected.has(u));
        const missing = [...expected].filter((u) => !actual.has(u));
        if ((!old.broken || newcomers.length > 0 || missing.length > 0) && !this.disabled.resetRosterCheck) {
          this.emit('alarm', {
            kind: 'reset-refused',
            conversationId: id,
            previousConversationId: previousId,
            previousWasBroken: old.broken,
            newcomers,
            missing,
          });
          // Nothing is written there until the person accepts it, knowing who is in it.
          if (info.status === 'active')
            await this.options.store.putConversationInfo({ ...info, status: 'request' });
          return;
        }
        await this.options.store.putConversationInfo({ ...previous, status: 'left', replacedBy: id });
        if (previous.status === 'active' && info.status === 'request') {
          await this.options.store.putConversationInfo({ ...info, status: 'active', name: previous.name });
        }
        return;
      }
      case 'profile': {
        const contact = await this.options.store.getContact(sender.username);
        if (contact)
          await this.options.store.putContact({
            ...contact,
            displayName: body.value.displayName.slice(0, 100),
          });
        this.emit('profile', {
          username: sender.username,
          displayName: body.value.displayName.slice(0, 100),
        });
        return;
      }
      default:
        return;
    }
  }

  /**
   * After an invalid commit the group cannot continue: start a new one with the same accounts
   * (each added from its verified device list) and mark the old one replaced.
   */
  private async resetGroup(id: string, options: { fallback?: boolean } = {}): Promise<void> {
    const old = await this.mls(id);
    const info = await this.conversationInfo(id);
    // The refused commit's own intent, as its committer signed it: whom it removed. Those
    // are not brought back, and its committer (who processed it and sees nothing wrong, or
    // made it on purpose) is not the one left to reset.
    const refused = old.refusedCommit;
    const removed = new Set((refused?.removed ?? []).map((d) => `${d.username}/${d.deviceId}`));
    const accounts = survivingAccounts(old);
    // One member resets, not every member: the first device in a fixed order among those
    // that did not make the refused commit. The others join the replacement from its Welcome;
    // if none is announced in time (that device saw nothing wrong: the server broke the
    // commit for some members only), each of them resets it itself (`fallback`).
    const first = old.devices
      .filter(
        (d) => !removed.has(`${d.username}/${d.deviceId}`) && d.username !== refused?.committer?.username,
      )
      .sort((a, b) =>
        a.username === b.username ? a.deviceId - b.deviceId : a.username < b.username ? -1 : 1,
      )[0];
    const elected = first?.username === this.identity.username && first.deviceId === this.identity.deviceId;
    if (!elected && !options.fallback) {
      await this.options.store.putConversationInfo({ ...info, status: 'left', brokenAt: this.clock() });
      return;
    }
    const others = accounts.filter((u) => u !== this.identity.username);
    const replacement = await this.create(info.kind, others, info.name);
    await this.options.store.putConversationInfo({ ...info, status: 'left', replacedBy: replacement });
    // Tells the other members which conversation this one replaces.
    await this.send(replacement, contentBody.groupReset(fromHex(id)));
  }

  /**
   * Conversations this device left broken for another member to reset, with no replacement
   * announced within RESET_FALLBACK_MS: reset here (run on the sweep timer and at connect).
   */
  private async resetOverdue(): Promise<void> {
    for (const info of await this.options.store.listConversationInfos()) {
      if (info.brokenAt === undefined || info.replacedBy !== undefined) continue;
      if (this.clock() - info.brokenAt < RESET_FALLBACK_MS) continue;
      const { brokenAt: _done, ...rest } = info;
      await this.options.store.putConversationInfo(rest);
      await this.resetGroup(info.id, { fallback: true }).catch(() => undefined);
    }
  }
}

/** The alarm a person sees for a message or commit the protocol refused (none: not an attack). */
const ALARM_OF_PROTOCOL_ERROR: Partial<
  Record<
    ProtocolError['code'],
    'rejected-credential' | 'invalid-commit' | 'fork' | 'gap' | 'replay' | 'too-far-ahead' | 'tampered'
  >
> = {
  'unknown-credential': 'rejected-credential',
  'invalid-commit': 'invalid-commit',
  fork: 'fork',
  gap: 'gap',
  replay: 'replay',
  'too-far-ahead': 'too-far-ahead',
  tampered: 'tampered',
};

/** The accounts of a broken conversation that its refused commit did not remove (whole). */
function survivingAccounts(conversation: Conversation): string[] {
  const removed = new Set(
    (conversation.refusedCommit?.removed ?? []).map((d) => `${d.username}/${d.deviceId}`),
  );
  return [
    ...new Set(
      conversation.devices.filter((d) => !removed.has(`${d.username}/${d.deviceId}`)).map((d) => d.username),
    ),
  ];
}

/** The conversation a delivery belongs to, for a commit; undefined for a Welcome or an unreadable header. */
function heldConversationOf(delivery: Delivery): string | undefined {
  if (delivery.kind === DeliveryKind.WELCOME) return undefined;
  try {
    const header = readMlsMessageHeader(delivery.message, { maxBytes: 16 * 1024 * 1024 });
    return 'groupId' in header ? toHex(header.groupId) : undefined;
  } catch {
    return undefined;
  }
}

/** A server answer that says "later", not "no": the request is resent unchanged. */
function isRetryable(err: unknown): err is ApiError {
  return ApiError.is(err, 'rate-limited') || ApiError.is(err, 'unavailable');
}

/**
 * A lookup failure that decides something about the credential: key transparency proved
 * the server wrong (a proof that does not verify, a list its owner never signed, a view
 * older than one already verified), which the directory alarms as it throws. Anything else
 * (the network, a retryable answer, a connection cut mid-body, a refusal, an answer that
 * does not decode) says nothing about the credential and is retried, never judged.
 */
function isVerdict(err: unknown): boolean {
  return ClientError.is(err, 'identity-changed');
}

/** The stored form of a text or attachment message, sent or received. */
function shownMessage(
  body: Extract<Content['body'], { case: 'text' | 'attachment' }>,
  fields: Pick<
    StoredMessage,
    'conversationId' | 'id' | 'sender' | 'sentAt' | 'receivedAt' | 'state' | 'expiresAt'
  >,
): StoredMessage {
  return {
    ...fields,
    text: body.case === 'text' ? body.value.text : body.value.caption,
    ...(body.case === 'text' && body.value.replyTo.length > 0 ? { replyTo: toHex(body.value.replyTo) } : {}),
    ...(body.case === 'attachment' ? { attachment: attachmentInfo(body.value) } : {}),
    reactions: {},
    deliveredTo: [],
    readTo: [],
    edited: false,
    deleted: false,
  };
}

function attachmentInfo(value: {
  id: string;
  key: Uint8Array;
  digest: Uint8Array;
  size: bigint;
  contentType: string;
  fileName: string;
  token: string;
}): AttachmentInfo {
  return {
    id: value.id,
    key: value.key,
    digest: value.digest,
    size: Number(value.size),
    contentType: value.contentType,
    fileName: value.fileName,
    token: value.token,
  };
}
