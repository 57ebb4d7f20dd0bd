// Resetting a conversation that cannot continue (an invalid commit was refused): one member
// starts a new conversation with the same accounts and announces it as the replacement; the
// others join it from its Welcome, or reset it themselves if none comes in time.
import { body as contentBody, type Content, type Conversation } from '@ghostproof/protocol';
import { fromHex } from './bytes.js';
import type { MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { errorFields, type Logger } from './logger.js';
import { RESET_FALLBACK_MS } from './options.js';

export interface GroupResetDeps {
  /** Creates a conversation with these accounts (conversations.ts). */
  create(kind: 'direct' | 'group', usernames: readonly string[], name: string): Promise<string>;
  /** Sends content in a conversation (sending.ts). */
  send(id: string, body: Content['body']): Promise<string>;
}

export class GroupReset {
  private readonly log: Logger;

  constructor(
    private readonly context: MessengerContext,
    private readonly registry: ConversationRegistry,
    private readonly deps: GroupResetDeps,
  ) {
    this.log = context.logger('client:group-reset');
  }

  /**
   * After an invalid commit the group cannot continue: start a new one with the same accounts
   * (each added from its verified device list) and mark the old one replaced.
   * @throws ClientError `unknown-conversation`, and whatever creating the replacement or
   *   sending the announcement throws (see Messenger.createGroup and Messenger.send).
   */
  async resetGroup(id: string, options: { fallback?: boolean } = {}): Promise<void> {
    const { identity, store, clock } = this.context;
    const old = await this.registry.mls(id);
    const info = await this.registry.info(id);
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
    const elected = first?.username === identity.username && first.deviceId === identity.deviceId;
    if (!elected && !options.fallback) {
      await store.putConversationInfo({ ...info, status: 'left', brokenAt: clock.now() });
      return;
    }
    const others = accounts.filter((u) => u !== identity.username);
    const replacement = await this.deps.create(info.kind, others, info.name);
    await store.putConversationInfo({ ...info, status: 'left', replacedBy: replacement });
    // Tells the other members which conversation this one replaces.
    await this.deps.send(replacement, contentBody.groupReset(fromHex(id)));
  }

  /**
   * `resetGroup` from inside the delivery queue: a reset that fails (offline, an account
   * that cannot be added) leaves the conversation broken, as the person sees it; logged.
   * Never throws.
   */
  async resetAfterInvalidCommit(id: string): Promise<void> {
    await this.resetGroup(id).catch((error: unknown) => this.log.warn('reset-failed', errorFields(error)));
  }

  /**
   * Conversations this device left broken for another member to reset, with no replacement
   * announced within RESET_FALLBACK_MS: reset here (run on the sweep timer and at connect).
   * A reset that fails is not tried again (as before), and is logged.
   * @throws only a store failure.
   */
  async resetOverdue(): Promise<void> {
    const { store, clock } = this.context;
    for (const info of await store.listConversationInfos()) {
      if (info.brokenAt === undefined || info.replacedBy !== undefined) continue;
      if (clock.now() - info.brokenAt < RESET_FALLBACK_MS) continue;
      const { brokenAt: _done, ...rest } = info;
      await store.putConversationInfo(rest);
      await this.resetGroup(info.id, { fallback: true }).catch((error: unknown) =>
        this.log.warn('fallback-reset-failed', errorFields(error)),
      );
    }
  }
}

/** The accounts of a broken conversation that its refused commit did not remove (whole). */
export function survivingAccounts(conversation: Conversation): string[] {
  const removed = new Set(
    (conversation.refusedCommit?.removed ?? []).map((d) => `${d.username}/${d.deviceId}`),
  );
  return [
    ...new Set(
      conversation.devices.filter((d) => !removed.has(`${d.username}/${d.deviceId}`)).map((d) => d.username),
    ),
  ];
}
