// The conversations this device holds: the loaded MLS state of each (cached, one object per
// conversation) and the stored info the apps show, kept in step with the MLS group context.
import {
  effectiveDisappearingSeconds,
  type Conversation,
  type ConversationSettings,
} from '@ghostproof/protocol';
import { fromHex } from './bytes.js';
import type { MessengerContext } from './context.js';
import { ClientError } from './errors.js';
import type { ConversationInfo } from './store.js';

export class ConversationRegistry {
  /** Loaded conversations: every service works on the same object, so epochs stay in step. */
  readonly loaded = new Map<string, Conversation>();

  constructor(private readonly context: MessengerContext) {}

  /**
   * The MLS state of a conversation.
   * @throws ClientError `unknown-conversation` when this device holds none under `id`.
   */
  async mls(id: string): Promise<Conversation> {
    const cached = this.loaded.get(id);
    if (cached) return cached;
    const conversation = await this.context.protocol.conversation(fromHex(id));
    if (!conversation) throw new ClientError('unknown-conversation', 'no such conversation');
    this.loaded.set(id, conversation);
    return conversation;
  }

  /**
   * The stored info of a conversation.
   * @throws ClientError `unknown-conversation`.
   */
  async info(id: string): Promise<ConversationInfo> {
    const info = await this.context.store.getConversationInfo(id);
    if (!info) throw new ClientError('unknown-conversation', 'no such conversation');
    return info;
  }

  /** Every conversation's info, most recent activity first. @throws only a store failure. */
  async list(): Promise<ConversationInfo[]> {
    return (await this.context.store.listConversationInfos()).sort((a, b) => b.lastActivity - a.lastActivity);
  }

  /** Removes a conversation this device alone holds (never used, or replaced). @throws only a store failure. */
  async forget(id: string): Promise<void> {
    this.loaded.delete(id);
    await this.context.store.deleteConversation(fromHex(id));
    const info = await this.context.store.getConversationInfo(id);
    if (info) await this.context.store.putConversationInfo({ ...info, status: 'left' });
  }

  /**
   * When a received message disappears: after the stricter (shorter, non-zero) of the
   * conversation's timer, from the MLS group context, and the timer the message carries.
   * @throws ClientError `unknown-conversation`.
   */
  async expiryOf(id: string, info: ConversationInfo, messageSeconds: number, now: number): Promise<number> {
    const seconds = this.context.disabled.sharedDisappearingTimer
      ? info.disappearingSeconds
      : effectiveDisappearingSeconds((await this.mls(id)).settings.disappearingSeconds, messageSeconds);
    return seconds > 0 ? now + seconds * 1000 : 0;
  }

  /**
   * A group's admins: the MLS group context's list; this device's earlier view until it has one.
   * @throws ClientError `unknown-conversation`.
   */
  async adminsOf(id: string, info: ConversationInfo): Promise<readonly string[]> {
    if (this.context.disabled.authenticatedAdmins) return info.admins;
    const settings = (await this.mls(id)).settings;
    return settings.kind === 'group' && settings.admins.length === 0 ? info.admins : settings.admins;
  }

  /**
   * Copies admins and timer from the group context (after a join or a commit) into the stored
   * info that the apps show. A group without an admin list in its group context yet keeps
   * this device's earlier view of its admins until its first settings commit.
   * @throws only a store failure.
   */
  async syncSettings(id: string, settings: ConversationSettings): Promise<void> {
    const { store, disabled } = this.context;
    const info = await store.getConversationInfo(id);
    if (!info) return;
    const keepAdmins =
      disabled.authenticatedAdmins || (settings.kind === 'group' && settings.admins.length === 0);
    const admins = keepAdmins ? info.admins : [...settings.admins];
    const disappearingSeconds = disabled.sharedDisappearingTimer
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
    await store.putConversationInfo(updated);
    this.context.emit('conversation', { conversation: updated });
  }
}
