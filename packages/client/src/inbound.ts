// Everything the server delivers, one at a time and in order: Welcomes (a conversation to
// join), commits and proposals (the roster changes), and messages. A delivery is recorded and
// acknowledged once processed; redelivered ones are recognised by their server id and dropped.
// What the protocol refuses becomes an alarm a person sees (ALARM_OF_PROTOCOL_ERROR).
import { DeliveryKind, readMlsMessageHeader, type Delivery } from '@ghostproof/api';
import { ProtocolError, type Conversation } from '@ghostproof/protocol';
import { toHex } from './bytes.js';
import type { CommitRunner } from './commit-runner.js';
import type { MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { ClientError } from './errors.js';
import type { Alarm } from './events.js';
import type { GroupReset } from './group-reset.js';
import { errorFields, type Logger } from './logger.js';
import { DELIVERY_DELAY_NOTICE_MS, LOOKUP_RETRY_MAX_MS, LOOKUP_RETRY_MIN_MS } from './options.js';
import type { ContentReceiver } from './received-content.js';
import type { ConversationInfo } from './store.js';

/** Largest MLS message whose header is read (the server's limit is lower). */
const MAX_MLS_MESSAGE_BYTES = 16 * 1024 * 1024;
/** How often overdue missing messages and resets are looked for while connected. */
const MISSING_SWEEP_MS = 10_000;

/** The alarms that name only a conversation: what a refused message or commit raises. */
type ProtocolAlarmKind = Extract<
  Alarm['kind'],
  'rejected-credential' | 'invalid-commit' | 'fork' | 'gap' | 'replay' | 'too-far-ahead' | 'tampered'
>;

/** The alarm a person sees for a message or commit the protocol refused (none: not an attack). */
const ALARM_OF_PROTOCOL_ERROR = {
  'unknown-credential': 'rejected-credential',
  'invalid-commit': 'invalid-commit',
  fork: 'fork',
  gap: 'gap',
  replay: 'replay',
  'too-far-ahead': 'too-far-ahead',
  tampered: 'tampered',
} as const satisfies Partial<Record<ProtocolError['code'], ProtocolAlarmKind>>;

function alarmOf(code: ProtocolError['code']): ProtocolAlarmKind | undefined {
  return (ALARM_OF_PROTOCOL_ERROR as Partial<Record<ProtocolError['code'], ProtocolAlarmKind>>)[code];
}

export interface InboundDeps {
  readonly registry: ConversationRegistry;
  readonly commits: CommitRunner;
  readonly content: ContentReceiver;
  readonly groupReset: GroupReset;
  /** Declines a conversation request (conversations.ts): a 1:1 from a blocked account. */
  readonly decline: (id: string) => Promise<void>;
}

export class Inbound {
  private queue: Promise<void> = Promise.resolve();
  /** Counts connection attempts; deliveries are tagged with the one they arrived on. */
  private session = 0;
  /**
   * A session in which a delivery was left unacknowledged (to be redelivered on the next
   * connection): nothing after it in that session is processed, so order is kept.
   */
  private deferredSession: number | undefined;
  private wakeRetry: (() => void) | undefined;
  private closing = false;
  private stopMissingSweep: (() => void) | undefined;
  /**
   * The conversation whose commit is held waiting for key transparency (none for a Welcome,
   * whose conversation is not held yet): nothing new is encrypted in it meanwhile, since a
   * member that commit removes could still read the epoch it would end.
   */
  private held: string | undefined;
  private readonly log: Logger;

  constructor(
    private readonly context: MessengerContext,
    private readonly deps: InboundDeps,
  ) {
    this.log = context.logger('client:inbound');
  }

  /** Whether a commit of this conversation is held waiting for key transparency. Never throws. */
  isHeld(id: string): boolean {
    return this.held === id;
  }

  /** A new connection begins: what arrives from now on is of this one; a waiting retry runs now. Never throws. */
  newSession(): void {
    this.session++;
    this.wakeRetry?.();
  }

  /** Queues a delivery behind those before it. Never throws: failures are logged. */
  enqueue(delivery: Delivery): void {
    const session = this.session;
    this.queue = this.queue
      .then(() => this.handleDelivery(delivery, session))
      .catch((error: unknown) => this.log.warn('delivery-failed', errorFields(error)));
  }

  /** Resolves when every delivery received so far has been processed. Never rejects. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Looks for overdue missing messages and resets every MISSING_SWEEP_MS (from connect). Never throws. */
  startMissingSweep(): void {
    this.stopMissingSweep ??= this.context.clock.every(MISSING_SWEEP_MS, () => {
      void this.sweepMissingMessages().catch((error: unknown) =>
        this.log.warn('missing-sweep-failed', errorFields(error)),
      );
    });
  }

  /** Closing: a waiting retry ends now (its delivery left for redelivery), the sweep stops. */
  stop(): void {
    this.closing = true;
    this.wakeRetry?.();
    this.stopMissingSweep?.();
    this.stopMissingSweep = undefined;
  }

  private async ack(delivery: Delivery): Promise<void> {
    try {
      await this.context.connection().request({ case: 'ack', value: { messageIds: [delivery.messageId] } });
    } catch (error) {
      // Safe to lose: the delivery is recorded as processed, so when the server sends it
      // again it is recognised and acknowledged then.
      this.log.debug('ack-failed', errorFields(error));
    }
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
    const { store, clock } = this.context;
    const deliveryId = toHex(delivery.messageId);
    if (await store.hasDelivery(deliveryId)) {
      await this.ack(delivery);
      return;
    }
    const startedAt = clock.now();
    let told = false;
    for (let attempt = 0; ; attempt++) {
      try {
        if (delivery.kind === DeliveryKind.WELCOME) await this.handleWelcome(delivery.message);
        else await this.handleGroupMessage(delivery.message);
        break;
      } catch (err) {
        const waiting = ProtocolError.is(err, 'directory-unavailable');
        if (waiting) this.held = heldConversationOf(delivery);
        if (!waiting && !ClientError.is(err, 'offline')) {
          // Reported as an alarm (or not an attack at all); consumed, never retried.
          this.log.info('delivery-refused', errorFields(err));
          break;
        }
        if (!waiting || this.closing || this.session !== session) {
          this.deferredSession = session; // Not acked: redelivered, in order, later.
          this.held = undefined;
          return;
        }
        if (!told && clock.now() - startedAt >= DELIVERY_DELAY_NOTICE_MS) {
          told = true;
          this.context.emit('delivery-delayed', { since: startedAt });
        }
        const backoff = Math.min(LOOKUP_RETRY_MIN_MS * 2 ** Math.min(attempt, 16), LOOKUP_RETRY_MAX_MS);
        // Closing, or a new connection, ends the wait at once.
        const wait = clock.interruptibleSleep(backoff);
        this.wakeRetry = wait.wake;
        await wait.done;
        this.wakeRetry = undefined;
      }
    }
    this.held = undefined;
    await store.putDelivery(deliveryId, clock.now());
    await this.ack(delivery);
  }

  private async handleWelcome(welcome: Uint8Array): Promise<void> {
    const { store, identity, clock, disabled, protocol } = this.context;
    let conversation: Conversation;
    try {
      conversation = await protocol.joinFromWelcome(welcome);
    } catch (err) {
      if (ProtocolError.is(err, 'not-a-member')) return;
      if (ProtocolError.is(err, 'directory-unavailable')) throw err; // Retried, never an alarm.
      if (ProtocolError.is(err, 'conflicting-welcome')) {
        this.context.emit('alarm', {
          kind: 'conflicting-welcome',
          conversationId: toHex(err.groupId ?? new Uint8Array()),
        });
        throw err;
      }
      this.context.emit('alarm', { kind: 'rejected-credential', conversationId: '' });
      throw err;
    }
    const id = toHex(conversation.groupId);
    this.deps.registry.loaded.set(id, conversation);
    const others = conversation.members.filter((m) => m.username !== identity.username);
    const blocked = [];
    let known = false;
    for (const member of others) {
      const contact = await store.getContact(member.username);
      if (contact?.blocked) blocked.push(member.username);
      if (contact?.accepted) known = true;
    }
    // A conversation this device had before (left, removed, or broken) and is invited to
    // again: nothing proves it is the same group (anyone can make one under its id), so it
    // is a request, whoever is in it.
    const again = (await store.getConversationInfo(id)) !== undefined;
    const info: ConversationInfo = {
      id,
      kind: conversation.kind,
      status: known && !again ? 'active' : 'request',
      name: '',
      // Admins and timer as the Welcome's group context says, authenticated by the group.
      admins: disabled.authenticatedAdmins ? [] : [...conversation.settings.admins],
      ...(conversation.kind === 'direct' && others[0] ? { peer: others[0].username } : {}),
      unread: 0,
      lastActivity: clock.now(),
      sentSinceUpdate: 0,
      lastUpdateAt: clock.now(),
      disappearingSeconds: disabled.sharedDisappearingTimer ? 0 : conversation.settings.disappearingSeconds,
    };
    await store.putConversationInfo(info);
    if (conversation.kind === 'direct' && blocked.length > 0) {
      await this.deps.decline(id);
      return;
    }
    if (info.status === 'request') this.context.emit('request', { conversation: info });
    else this.context.emit('conversation', { conversation: info });
  }

  private async handleGroupMessage(bytes: Uint8Array): Promise<void> {
    const { registry, commits } = this.deps;
    const header = readMlsMessageHeader(bytes, { maxBytes: MAX_MLS_MESSAGE_BYTES });
    if (!('groupId' in header)) return;
    const id = toHex(header.groupId);
    let conversation: Conversation;
    try {
      conversation = await registry.mls(id);
    } catch (error) {
      // Not a conversation of ours (e.g. one we declined and deleted): dropped. Anything else
      // that keeps it from loading is dropped the same way, as it always was, but logged.
      if (!ClientError.is(error, 'unknown-conversation'))
        this.log.warn('conversation-unreadable', errorFields(error));
      return;
    }
    let outcome;
    try {
      outcome = await conversation.process(bytes);
    } catch (err) {
      if (ProtocolError.is(err, 'directory-unavailable')) throw err; // Retried, never an alarm.
      if (err instanceof ProtocolError) {
        const kind = alarmOf(err.code);
        if (kind) this.context.emit('alarm', { kind, conversationId: id });
        if (err.code === 'invalid-commit') await this.deps.groupReset.resetAfterInvalidCommit(id);
        return;
      }
      throw err;
    }
    if (outcome.kind === 'commit') {
      this.context.directory.invalidate();
      await commits.afterRosterChange(id, conversation, outcome.events);
      if (outcome.events.some((e) => e.kind === 'you-were-removed' || e.kind === 'you-left')) {
        const info = await registry.info(id);
        if (info.status !== 'declined')
          await this.context.store.putConversationInfo({ ...info, status: 'left' });
      }
      return;
    }
    if (outcome.kind === 'proposal') {
      // A member leaving: commit it soon, so the roster shows it (any member may). Not awaited:
      // this runs inside the delivery queue, and a commit that loses the race to another
      // member's waits for that commit, which the queue delivers only after this returns.
      const info = await registry.info(id);
      if (info.status === 'active') commits.selfUpdateSoon(id);
      return;
    }
    if (outcome.kind !== 'message') return;
    await this.deps.content.receive(id, outcome.sender, outcome.content);
    await this.reportMissingMessages(id, conversation);
  }

  private async reportMissingMessages(id: string, conversation: Conversation): Promise<void> {
    for (const missing of await conversation.takeMissingMessages()) {
      this.context.emit('missing-message', { conversationId: id, ...missing });
    }
  }

  /** Every loaded conversation's overdue missing messages, and overdue resets (run on a timer). */
  private async sweepMissingMessages(): Promise<void> {
    for (const [id, conversation] of this.deps.registry.loaded)
      await this.reportMissingMessages(id, conversation);
    await this.deps.groupReset.resetOverdue();
  }
}

/** The conversation a delivery belongs to, for a commit; undefined for a Welcome or an unreadable header. */
function heldConversationOf(delivery: Delivery): string | undefined {
  if (delivery.kind === DeliveryKind.WELCOME) return undefined;
  try {
    const header = readMlsMessageHeader(delivery.message, { maxBytes: MAX_MLS_MESSAGE_BYTES });
    return 'groupId' in header ? toHex(header.groupId) : undefined;
  } catch {
    // An unreadable header names no conversation to hold; the delivery itself is retried.
    return undefined;
  }
}
