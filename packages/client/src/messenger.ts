// The Messenger: one device of one account, talking to one server. It joins the protocol
// (packages/protocol) to the API (packages/api) over a reconnecting WebSocket, keeps
// everything in a ClientStore, and reports what a person would see as events. Outgoing
// messages go through a durable outbox (sent again after a restart, each stored once by the
// server); redelivered messages are recognised by their server id and dropped. This file is
// the facade (construction, events, connect, close) over one service per job (profile.ts
// wires them). Errors are ClientError (errors.ts), ApiError (the server's refusal) and
// ProtocolError, each with a stable code; every method's `@throws` names the codes.
import type { DeviceList } from '@ghostproof/api';
import {
  body as contentBody,
  ProtocolClient,
  type Content,
  type Conversation,
  type ConversationSettings,
  type Member,
  type SafetyNumber,
} from '@ghostproof/protocol';
import { fromHex } from './bytes.js';
import { createClock, type Clock } from './clock.js';
import { Connection } from './connection.js';
import { ClientError } from './errors.js';
import { EventHub, type Listener, type MessengerEvents } from './events.js';
import { HttpApi } from './http.js';
import { replenishKeyPackages } from './key-packages.js';
import { createLogger, errorFields, type Logger } from './logger.js';
import type { MessengerOptions } from './options.js';
import { createProfile, openProfile, type Services } from './profile.js';
import type { AttachmentInfo, ConversationInfo, StoredMessage } from './store.js';

export type { Alarm, MessengerEvents } from './events.js';
export {
  DELIVERY_DELAY_NOTICE_MS,
  EXPIRY_SWEEP_MS,
  RESET_FALLBACK_MS,
  SELF_UPDATE_INTERVAL_MS,
  SELF_UPDATE_MESSAGES,
  type MessengerOptions,
  type UnsafeTestingDisabledDefences,
} from './options.js';

export class Messenger {
  private readonly events = new EventHub();
  private readonly http: HttpApi;
  private readonly clock: Clock;
  private readonly log: Logger;
  private connection: Connection | undefined;
  private closing = false;
  private services!: Services;

  private constructor(private readonly options: MessengerOptions) {
    this.http = new HttpApi(options.serverUrl, options.fetch);
    this.clock = createClock(options.clock ?? Date.now);
    this.log = createLogger('client:messenger', options.logSink);
  }

  // --- events and account ---------------------------------------------------------------

  /** Listens to one kind of event; returns the function that stops listening. Never throws. */
  on<K extends keyof MessengerEvents>(kind: K, listener: Listener<MessengerEvents[K]>): () => void {
    return this.events.on(kind, listener);
  }

  /**
   * Creates the account on the server with this device as its first device.
   * @throws ClientError `already-registered` (this profile has an account), `offline`;
   *   ApiError `invalid-username`, `reserved-username`, `username-taken`, `invite-required`,
   *   `rate-limited`, `unavailable`; ProtocolError `nonconforming-mls` (the MLS library is
   *   not the patched one: nothing is registered).
   */
  static async register(options: MessengerOptions, username: string, inviteCode = ''): Promise<Messenger> {
    // Nothing is registered on a library that would then refuse to run.
    await ProtocolClient.requireConformingLibrary();
    const messenger = new Messenger(options);
    if (await options.store.getIdentity())
      throw new ClientError('already-registered', 'this profile already has an account');
    const signedDeviceList = await createProfile(options, messenger.http, username, inviteCode);
    await messenger.init();
    await messenger.services.heal.markNothingToHeal();
    // The log's keys are pinned now, at registration.
    await messenger.services.context.directory.pin(signedDeviceList);
    await messenger.replenishKeyPackages();
    return messenger;
  }

  /**
   * Opens the account this profile registered.
   * @throws ClientError `not-registered` (no account in this profile); ProtocolError
   *   `nonconforming-mls`.
   */
  static async open(options: MessengerOptions): Promise<Messenger> {
    const messenger = new Messenger(options);
    await messenger.init();
    return messenger;
  }

  private async init(): Promise<void> {
    this.services = await openProfile(this.options, {
      http: this.http,
      clock: this.clock,
      emit: this.events.emit,
      connection: () => this.conn,
      online: () => this.connection?.connectionState === 'online',
    });
    await this.services.expiry.start(this.options.expirySweepMs);
  }

  /** This device's account. Never throws once open. */
  get username(): string {
    return this.services.context.identity.username;
  }

  /** This device's id within its account. Never throws once open. */
  get deviceId(): number {
    return this.services.context.identity.deviceId;
  }

  /** Kept for tests that sign in by hand (test/harness/people.ts). */
  private sessionToken(refresh: boolean): Promise<Uint8Array> {
    return this.services.auth.sessionToken(refresh);
  }

  /** Kept for tests that inspect the MLS state (test/group-faults.test.ts). */
  private mls(id: string): Promise<Conversation> {
    return this.services.registry.mls(id);
  }

  // --- connection -----------------------------------------------------------------------

  /**
   * Connects (and keeps reconnecting) until `close()`. Resolves once online.
   * @throws ClientError `closed` (closed before it was online).
   */
  async connect(): Promise<void> {
    if (!this.connection) {
      const { inbound, auth } = this.services;
      this.connection = new Connection({
        baseUrl: this.options.serverUrl,
        createSocket: this.options.createSocket,
        logger: createLogger('client:connection', this.options.logSink),
        sessionToken: (refresh) => auth.sessionToken(refresh),
        onDelivery: (delivery) => inbound.enqueue(delivery),
        onState: (state) => {
          // A new connection begins: what arrives from now on is of this one (a delivery
          // can arrive before the sign-in's answer has been handled).
          if (state === 'connecting') inbound.newSession();
          this.events.emit('connection', { state });
          if (state === 'online') void this.onOnline();
        },
      });
      this.connection.start();
      inbound.startMissingSweep();
    }
    await this.connection.waitOnline();
  }

  /** Online again: each step is retried on the next connection if it fails. Never throws. */
  private async onOnline(): Promise<void> {
    const { context, outbox, heal, commits } = this.services;
    // A failing step does not skip the others: a server answering 503 to monitoring must not
    // also skip the heal, the weekly self-update or the routing check.
    const step = async (name: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (error) {
        this.log.info('connect-step-deferred', { step: name, ...errorFields(error) });
      }
    };
    await step('monitor-and-flush', async () => {
      await context.directory.checkKeys();
      await context.directory.monitorOwnAccount(context.identity.username);
      await outbox.flush();
    });
    await step('key-packages', () => this.replenishKeyPackages());
    await step('heal', () => heal.healAll());
    await step('self-update', () => commits.selfUpdateDue());
    // The server's routing lists, checked on every connect, not only after roster changes.
    await step('routing-check', () => commits.checkAllRoutingLists());
  }

  /** Stops reconnecting and every timer; resolves once received deliveries are processed. Never throws. */
  async close(): Promise<void> {
    this.closing = true;
    const { inbound, outbox, expiry } = this.services;
    inbound.stop();
    outbox.stop();
    expiry.stop();
    this.connection?.close();
    this.connection = undefined;
    await inbound.idle();
  }

  private get conn(): Connection {
    if (this.connection) return this.connection;
    // After close(): not connected any more, which callers treat as offline.
    if (this.closing) throw new ClientError('offline', 'not connected: the messenger was closed');
    throw new ClientError('usage', 'not connected: call connect() first');
  }

  /**
   * Uploads key packages when the server holds few (also done at every connect).
   * @throws ClientError `offline`; ApiError (`unauthenticated`, `rate-limited`, `unavailable`).
   */
  async replenishKeyPackages(): Promise<void> {
    await replenishKeyPackages(this.services.context, this.options.cipherSuite);
  }

  // --- contacts -------------------------------------------------------------------------

  /**
   * The verified device list of an account (signature checked, identity key pinned).
   * @throws ClientError `unknown-user`, `identity-changed` (key transparency refused the
   *   server's answer), `offline`; ApiError (`rate-limited`, `unavailable`, ...).
   */
  lookup(username: string): Promise<DeviceList> {
    return this.services.contacts.lookup(username);
  }

  /** The safety number of this account and `username`, to compare out of band. @throws as `lookup`. */
  safetyNumber(username: string): Promise<SafetyNumber> {
    return this.services.contacts.safetyNumber(username);
  }

  /** Marks a contact verified (the person compared safety numbers). @throws as `lookup`. */
  markVerified(username: string): Promise<void> {
    return this.services.contacts.markVerified(username);
  }

  /**
   * Acknowledges a contact's new identity key; a verified contact becomes unverified.
   * @throws ClientError `unknown-user` (no such contact).
   */
  acknowledgeIdentityChange(username: string): Promise<void> {
    return this.services.contacts.acknowledgeIdentityChange(username);
  }

  /** Blocks an account and declines its pending requests. @throws as `decline` for those requests. */
  block(username: string): Promise<void> {
    return this.services.contacts.block(username);
  }

  /** Unblocks a contact. @throws ClientError `unknown-user` (no such contact). */
  unblock(username: string): Promise<void> {
    return this.services.contacts.unblock(username);
  }

  // --- conversations --------------------------------------------------------------------

  /** Every conversation, most recent activity first. Throws only a store failure. */
  listConversations(): Promise<ConversationInfo[]> {
    return this.services.registry.list();
  }

  /** One conversation's stored info. @throws ClientError `unknown-conversation`. */
  conversationInfo(id: string): Promise<ConversationInfo> {
    return this.services.registry.info(id);
  }

  /** The conversation's members in its current epoch. @throws ClientError `unknown-conversation`. */
  async members(id: string): Promise<Member[]> {
    return (await this.mls(id)).members;
  }

  /**
   * Kind, admins and disappearing timer as the MLS group context holds them in the current
   * epoch: what every member holds, changed only by commits.
   * @throws ClientError `unknown-conversation`.
   */
  async settings(id: string): Promise<ConversationSettings> {
    return (await this.mls(id)).settings;
  }

  /**
   * The conversation's group code (12 digits from the epoch authenticator): members who
   * compare it out of band and see the same digits share one history up to this epoch.
   * @throws ClientError `unknown-conversation`.
   */
  async groupCode(id: string): Promise<string> {
    return (await this.mls(id)).groupCode();
  }

  /** The conversation's messages (expired ones deleted first). Throws only a store failure. */
  async messages(id: string): Promise<StoredMessage[]> {
    await this.sweepExpired();
    return this.options.store.listMessages(id);
  }

  /**
   * Deletes every message whose time has come (by the clock option), from the store itself:
   * at open, then every `expirySweepMs` while the app runs, whether or not anything lists
   * messages. Emits `expired` when it deleted something; returns how many records went.
   * Throws only a store failure.
   */
  sweepExpired(): Promise<number> {
    return this.services.expiry.sweep();
  }

  /** The existing 1:1 conversation with `username`, or a new one. @throws as `createGroup`. */
  direct(username: string): Promise<string> {
    return this.services.conversations.direct(username);
  }

  /**
   * A new group with these accounts (all their devices); this account is its admin.
   * @throws ClientError `unknown-user`, `blocked`, `identity-changed`, `missing-key-packages`,
   *   `retry-exhausted`, `usage` (call connect() first), `offline`/`closed`; ApiError
   *   (`rate-limited`, `unavailable`, ...).
   */
  createGroup(name: string, usernames: readonly string[]): Promise<string> {
    return this.services.conversations.createGroup(name, usernames);
  }

  /**
   * Adds accounts (all their devices).
   * @throws ClientError `missing-key-packages` (naming the devices without one),
   *   `unknown-conversation`, `retry-exhausted`, `usage`, `offline`/`closed`; ApiError from
   *   the claim or the commit; ProtocolError `not-allowed`.
   */
  addMembers(id: string, usernames: readonly string[]): Promise<void> {
    return this.services.conversations.addMembers(id, usernames);
  }

  /**
   * Removes an account (all its devices) by a commit.
   * @throws ClientError `unknown-conversation`, `retry-exhausted`, `usage`, `offline`/`closed`;
   *   ApiError; ProtocolError `not-allowed`.
   */
  removeMember(id: string, username: string): Promise<void> {
    return this.services.conversations.removeMember(id, username);
  }

  /**
   * Leaves a conversation: a proposal the next committer includes.
   * @throws ClientError `unknown-conversation`.
   */
  leave(id: string): Promise<void> {
    return this.services.conversations.leave(id);
  }

  /**
   * Accepts a conversation request; its members become accepted contacts.
   * @throws ClientError `unknown-conversation`; as `lookup` for its members.
   */
  accept(id: string): Promise<void> {
    return this.services.conversations.accept(id);
  }

  /** Declines a conversation request (and leaves it). @throws ClientError `unknown-conversation`. */
  decline(id: string): Promise<void> {
    return this.services.conversations.decline(id);
  }

  /**
   * A commit with a fresh update path (forward secrecy, post-compromise security).
   * @throws ClientError `unknown-conversation`, `retry-exhausted`, `usage`, `offline`/`closed`; ApiError.
   */
  selfUpdate(id: string): Promise<void> {
    return this.services.commits.selfUpdate(id);
  }

  /**
   * Every conversation whose last self-update is older than 7 days gets one (DESIGN.md).
   * @throws as `selfUpdate`.
   */
  selfUpdateDue(): Promise<void> {
    return this.services.commits.selfUpdateDue();
  }

  /**
   * DESIGN.md: the routing list must hold exactly the roster's devices; a ghost mailbox alarms.
   * @throws ClientError `unknown-conversation`, `usage`, `offline`/`closed`.
   */
  checkRoutingList(id: string, conversation?: Conversation): Promise<void> {
    return this.services.commits.checkRoutingList(id, conversation);
  }

  /**
   * Sets the conversation's disappearing timer (0 = off) by a commit: every member, and
   * everyone added later, holds it in the same epoch. In a group only an admin may (a 1:1:
   * either member); otherwise ProtocolError('not-allowed') and nothing is sent.
   * @throws ProtocolError `not-allowed`; ClientError `unknown-conversation` (none, or not
   *   active), `retry-exhausted`, `usage`, `offline`/`closed`; ApiError.
   */
  setDisappearing(id: string, seconds: number): Promise<void> {
    return this.services.conversations.setDisappearing(id, seconds);
  }

  /**
   * Replaces a group's admin list by a commit (only an admin may; the list names members and
   * is never empty). Every member, and everyone added later, holds the same list.
   * @throws as `setDisappearing`.
   */
  setAdmins(id: string, usernames: readonly string[]): Promise<void> {
    return this.services.conversations.setAdmins(id, usernames);
  }

  /** Renames a group (a message; members take it from an admin only). @throws as `send`. */
  setGroupName(id: string, name: string): Promise<void> {
    return this.services.conversations.setGroupName(id, name);
  }

  /** Tells every active conversation this account's display name. @throws as `send`. */
  setProfileName(displayName: string): Promise<void> {
    return this.services.conversations.setProfileName(displayName);
  }

  // --- sending --------------------------------------------------------------------------

  /**
   * Encrypts content, stores it in the outbox, and sends it (now, or on reconnect).
   * @throws ClientError `unknown-conversation` (none, or not active), `verification-pending`,
   *   `identity-changed` (a verified member's key changed: acknowledge it first);
   *   ProtocolError `too-large`; as `selfUpdate` when the conversation must be healed first.
   */
  send(id: string, body: Content['body'], options: { expiresInSeconds?: number } = {}): Promise<string> {
    return this.services.sending.send(id, body, options);
  }

  /** Sends a text message, optionally as a reply; returns its id. @throws as `send`. */
  sendText(id: string, text: string, replyTo?: string): Promise<string> {
    return this.send(id, contentBody.text(text, replyTo ? fromHex(replyTo) : undefined));
  }

  /** Adds (or removes) a reaction to a message. @throws as `send`. */
  react(id: string, messageId: string, emoji: string, remove = false): Promise<string> {
    return this.send(id, contentBody.reaction(fromHex(messageId), emoji, remove));
  }

  /**
   * Edits one of this account's own messages.
   * @throws ClientError `unknown-conversation` (no such message of ours); as `send`.
   */
  edit(id: string, messageId: string, text: string): Promise<void> {
    return this.services.sending.edit(id, messageId, text);
  }

  /**
   * Deletes one of this account's own messages for every member.
   * @throws ClientError `unknown-conversation` (no such message of ours); as `send`.
   */
  deleteForEveryone(id: string, messageId: string): Promise<void> {
    return this.services.sending.deleteForEveryone(id, messageId);
  }

  /** Marks the conversation read and sends `read` receipts. @throws as `send`. */
  markRead(id: string): Promise<void> {
    return this.services.sending.markRead(id);
  }

  /** Tells the members this account started (or stopped) typing. @throws as `send`. */
  typing(id: string, started: boolean): Promise<string> {
    return this.send(id, contentBody.typing(started));
  }

  /**
   * Sends every outbox entry, oldest first; each is removed only once the server accepted it.
   * Not connected: nothing is sent, nothing thrown. Throws only a store failure.
   */
  flushOutbox(): Promise<void> {
    return this.services.outbox.flush();
  }

  /** How many messages wait in the outbox. Throws only a store failure. */
  pendingOutbox(): Promise<number> {
    return this.services.outbox.pending();
  }

  // --- attachments ----------------------------------------------------------------------

  /**
   * Encrypts a file with a fresh key, uploads it, and sends a pointer to it.
   * @throws ClientError `offline`; ApiError (`too-large`, `rate-limited`, ...); as `send`.
   */
  sendAttachment(
    id: string,
    file: { bytes: Uint8Array; contentType: string; fileName: string; caption?: string },
    onProgress?: (sent: number, total: number) => void,
  ): Promise<string> {
    return this.services.attachments.sendAttachment(id, file, onProgress);
  }

  /**
   * Downloads, checks the digest, and decrypts an attachment.
   * @throws ClientError `attachment-corrupted`, `offline`; ApiError (`not-found`, ...).
   */
  downloadAttachment(
    attachment: AttachmentInfo,
    onProgress?: (received: number, total: number) => void,
  ): Promise<Uint8Array> {
    return this.services.attachments.downloadAttachment(attachment, onProgress);
  }

  // --- receiving ------------------------------------------------------------------------

  /** Resolves when every delivery received so far has been processed. Never throws. */
  async idle(): Promise<void> {
    await this.services.inbound.idle();
  }
}
