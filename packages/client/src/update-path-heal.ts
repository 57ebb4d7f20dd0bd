// Once per profile, after the upgrade that fixed the update path rule (docs/protocol.md,
// "The ts-mls patch"): an empty commit, which carries an update path, in every active
// conversation. A member removed earlier by a path-less commit may have derived the current
// epoch; after this commit it derives nothing. Conversations still to do are kept in the
// store (HEAL_SETTING) and retried on the next connection.
import type { CommitRunner } from './commit-runner.js';
import type { MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { ClientError } from './errors.js';
import { errorFields, type Logger } from './logger.js';
import { HEAL_SETTING } from './options.js';

export class UpdatePathHeal {
  /** The heal list was found saved and empty. */
  private healed = false;
  private readonly log: Logger;

  constructor(
    private readonly context: MessengerContext,
    private readonly registry: ConversationRegistry,
    private readonly commits: CommitRunner,
  ) {
    this.log = context.logger('client:heal');
  }

  /** A new profile has no conversation made under the old update path rule. @throws a store failure. */
  async markNothingToHeal(): Promise<void> {
    await this.save([]);
  }

  /**
   * Heals every conversation still to heal; those that fail stay listed for the next connection.
   * @throws only a store failure (reading or saving the list).
   */
  async healAll(): Promise<void> {
    const remaining = await this.toHeal();
    if (remaining.length === 0) return;
    const failed: string[] = [];
    for (const id of remaining) {
      try {
        await this.healConversation(id);
      } catch (error) {
        // Kept in the list: retried on the next connection.
        this.log.info('heal-deferred', errorFields(error));
        failed.push(id);
      }
    }
    await this.save(failed);
  }

  /**
   * Before anything is encrypted in a conversation still to heal, it is healed.
   * @throws as CommitRunner.commitWithRetry.
   */
  async healBeforeSending(id: string): Promise<void> {
    const remaining = await this.toHeal();
    if (!remaining.includes(id)) return;
    await this.healConversation(id);
    await this.save((await this.toHeal()).filter((other) => other !== id));
  }

  /** Conversations still to heal (docs/protocol.md, "Healing groups made before the fix"). */
  private async toHeal(): Promise<string[]> {
    // Once the saved list is empty it stays so: no store read on every send after that.
    if (this.healed) return [];
    const saved = await this.context.store.getSetting(HEAL_SETTING);
    if (saved) {
      const ids = JSON.parse(new TextDecoder().decode(saved)) as string[];
      this.healed = ids.length === 0;
      return ids;
    }
    // A profile from before the fix: every conversation it may still write in.
    return (await this.context.store.listConversationInfos())
      .filter((info) => info.status === 'active' || info.status === 'request')
      .map((info) => info.id);
  }

  private async save(ids: readonly string[]): Promise<void> {
    await this.context.store.putSetting(HEAL_SETTING, new TextEncoder().encode(JSON.stringify(ids)));
  }

  /**
   * One commit with a fresh update path in a conversation made under the old rule. A commit
   * still pending from before is landed first (it may be an add without a path), so that the
   * heal itself is always a commit prepared now, with a path.
   */
  private async healConversation(id: string): Promise<void> {
    let conversation;
    try {
      conversation = await this.registry.mls(id);
    } catch (error) {
      // Gone (deleted after a decline): nothing left to heal. Any other failure is logged and
      // treated the same, as it always was: the conversation counts as healed.
      if (!ClientError.is(error, 'unknown-conversation')) this.log.warn('heal-skipped', errorFields(error));
      return;
    }
    if (!conversation.active) return;
    if (conversation.pendingCommit) await this.commits.selfUpdate(id);
    await this.commits.selfUpdate(id);
  }
}
