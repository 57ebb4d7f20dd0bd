// Landing commits: prepare, send the same bytes until the server answers, confirm; on a lost
// race wait for the winning commit and prepare again. After every roster change the server's
// routing list is compared with the roster (DESIGN.md: a ghost mailbox alarms). Self-updates
// (weekly, after SELF_UPDATE_MESSAGES, on a leave proposal) are commits like any other.
import { ApiError } from '@ghostproof/api';
import type { Conversation, PendingCommit, RosterEvent } from '@ghostproof/protocol';
import { fromHex } from './bytes.js';
import { isRetryable, mailboxOf, retryDelayMs, type MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { ClientError } from './errors.js';
import { errorFields, type Logger } from './logger.js';
import { COMMIT_ATTEMPTS, ROUTING_RECHECKS, SELF_UPDATE_INTERVAL_MS } from './options.js';

type RoutingList = { epoch: bigint; members: readonly { username: string; deviceId: number }[] };

export class CommitRunner {
  private readonly log: Logger;

  constructor(
    private readonly context: MessengerContext,
    private readonly registry: ConversationRegistry,
    /** Resolves when the deliveries received so far are processed (inbound.ts). */
    private readonly deliveriesProcessed: () => Promise<void>,
  ) {
    this.log = context.logger('client:commit');
  }

  /**
   * Runs a commit to completion: prepare, send the same bytes until the server answers,
   * confirm; on stale-epoch, discard, wait for the winning commit, and prepare again.
   * @throws ClientError `retry-exhausted` after COMMIT_ATTEMPTS, `unknown-conversation`,
   *   `usage` before connect, `offline`/`closed`; ApiError the server's refusal (other than
   *   `stale-epoch`, `unknown-key-package` and retryable answers, which are retried);
   *   ProtocolError from `prepare` (e.g. `not-allowed`); whatever `prepare` throws.
   */
  async commitWithRetry(
    id: string,
    prepare: (conversation: Conversation) => Promise<PendingCommit>,
  ): Promise<void> {
    const conversation = await this.registry.mls(id);
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const pending = conversation.pendingCommit ?? (await prepare(conversation));
      try {
        await this.context.connection().request({
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
          await this.context.clock.sleep(retryDelayMs(err.retryAfterMs));
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
      this.context.directory.invalidate();
      await this.afterRosterChange(id, conversation, events);
      return;
    }
    throw new ClientError('retry-exhausted', 'could not land the commit');
  }

  /**
   * An empty commit with a fresh update path; the conversation's self-update count restarts.
   * @throws as `commitWithRetry`.
   */
  async selfUpdate(id: string): Promise<void> {
    await this.commitWithRetry(id, (conversation) => conversation.prepareSelfUpdate());
    const info = await this.registry.info(id);
    await this.context.store.putConversationInfo({
      ...info,
      sentSinceUpdate: 0,
      lastUpdateAt: this.context.clock.now(),
    });
  }

  /**
   * Every active conversation whose last self-update is older than 7 days gets one (DESIGN.md).
   * @throws as `commitWithRetry` (the first failure stops the rest; retried on the next connect).
   */
  async selfUpdateDue(): Promise<void> {
    for (const info of await this.context.store.listConversationInfos()) {
      if (info.status !== 'active') continue;
      if (this.context.clock.now() - info.lastUpdateAt >= SELF_UPDATE_INTERVAL_MS)
        await this.selfUpdate(info.id);
    }
  }

  /**
   * A self-update started from inside the delivery queue or a send, not awaited: a commit that
   * loses a race waits for that queue. Its failure is retried by the next trigger. Never throws.
   */
  selfUpdateSoon(id: string): void {
    void this.selfUpdate(id).catch((error: unknown) =>
      this.log.info('self-update-failed', errorFields(error)),
    );
  }

  /**
   * Waits (in real time, up to `ms`) until the delivery queue has moved past `epoch`.
   * Never throws.
   */
  async waitForEpochAfter(conversation: Conversation, epoch: bigint, ms = 10_000): Promise<void> {
    const deadline = this.context.clock.deadline(ms);
    try {
      while (conversation.epoch <= epoch && !deadline.passed) {
        // The queue may be waiting on something itself (a delivery retried, or this very call
        // made from inside it): the deadline holds either way.
        await Promise.race([this.deliveriesProcessed(), deadline.done]);
        await this.context.clock.sleep(50);
      }
    } finally {
      deadline.cancel();
    }
  }

  /**
   * After a commit (ours or another member's): settings into the stored info, roster event,
   * routing check (in the background).
   * @throws only a store failure.
   */
  async afterRosterChange(
    id: string,
    conversation: Conversation,
    events: readonly RosterEvent[],
  ): Promise<void> {
    await this.registry.syncSettings(id, conversation.settings);
    if (events.length > 0) this.context.emit('roster', { conversationId: id, events });
    // Not awaited: this runs inside the delivery queue, and an answer for a later epoch is
    // checked again once the queue has caught up, which it cannot while this waits.
    void this.checkRoutingList(id, conversation).catch((error: unknown) =>
      this.log.info('routing-check-failed', errorFields(error)),
    );
  }

  /**
   * DESIGN.md: the routing list must hold exactly the roster's devices; a ghost mailbox alarms
   * (`routing-mismatch`).
   * @throws ClientError `unknown-conversation`, `usage` before connect, `offline`/`closed`
   *   (the check is retried on the next connect).
   */
  async checkRoutingList(id: string, conversation?: Conversation): Promise<void> {
    if (this.context.disabled.routingCheck) return;
    const mls = conversation ?? (await this.registry.mls(id));
    if (!mls.active) return;
    let result = await this.askRoutingList(mls);
    // An answer for another epoch: a commit is in flight, or one is withheld from this
    // device. Catch up (or let the server) and ask again; an answer that never matches this
    // member's epoch is compared with its roster all the same (a withheld commit, or a server
    // evading the check, shows as a mismatch).
    for (let recheck = 0; recheck < ROUTING_RECHECKS && (!result || result.epoch !== mls.epoch); recheck++) {
      if (result && result.epoch > mls.epoch) await this.waitForEpochAfter(mls, result.epoch - 1n, 5_000);
      else await this.context.clock.sleep(500);
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
      this.context.emit('alarm', { kind: 'routing-mismatch', conversationId: id, extra, missing });
    }
  }

  /**
   * Every active or requested conversation's routing list (on every connect, not only after
   * roster changes). One conversation's failure (offline: retried on the next connect) stops
   * no other. Never throws for one conversation; a store failure listing them propagates.
   */
  async checkAllRoutingLists(): Promise<void> {
    let failures = 0;
    for (const info of await this.context.store.listConversationInfos()) {
      if (info.status !== 'active' && info.status !== 'request') continue;
      try {
        await this.checkRoutingList(info.id);
      } catch (error) {
        failures++;
        this.log.debug('routing-check-failed', errorFields(error));
      }
    }
    if (failures > 0) this.log.info('routing-checks-deferred', { failures });
  }

  /**
   * The server's routing list for the conversation, or undefined when the server refuses or
   * answers something else. Offline throws (the check is retried on the next connect).
   */
  private async askRoutingList(mls: Conversation): Promise<RoutingList | undefined> {
    try {
      const result = await this.context
        .connection()
        .request({ case: 'getRoutingList', value: { groupId: mls.groupId } });
      return result.case === 'routingList' ? result.value : undefined;
    } catch (error) {
      // A refusal is an answer: treated as an empty list, which raises the alarm above.
      if (ApiError.is(error)) return undefined;
      throw error;
    }
  }
}
