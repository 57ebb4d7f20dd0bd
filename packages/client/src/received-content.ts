// Receiving one decrypted content message: load what it refers to, let the pure rules of
// content-application.ts decide, then carry out their store writes and events in order.
import {
  body as contentBody,
  type Content,
  type Conversation,
  type DeviceAddress,
} from '@ghostproof/protocol';
import { toHex } from './bytes.js';
import {
  acceptsContent,
  applyContent,
  targetsOf,
  type ContentStep,
  type ResetView,
} from './content-application.js';
import type { MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { ClientError } from './errors.js';
import { survivingAccounts } from './group-reset.js';
import { errorFields, type Logger } from './logger.js';
import type { StoredMessage } from './store.js';

export class ContentReceiver {
  private readonly log: Logger;

  constructor(
    private readonly context: MessengerContext,
    private readonly registry: ConversationRegistry,
    /** Sends content in a conversation (sending.ts), for the `delivered` receipt. */
    private readonly send: (id: string, body: Content['body']) => Promise<string>,
  ) {
    this.log = context.logger('client:content');
  }

  /**
   * Applies one received content message.
   * @throws ClientError `unknown-conversation`; a store failure.
   */
  async receive(id: string, sender: DeviceAddress, content: Content): Promise<void> {
    const { store, disabled } = this.context;
    const info = await this.registry.info(id);
    const senderContact = await store.getContact(sender.username);
    if (!acceptsContent(info, senderContact)) return;
    const now = this.context.clock.now();
    const body = content.body;
    // A peer's view of the log: consistent with ours, or evidence of a split view (the
    // directory raises that alarm itself). A checkpoint that cannot be checked now (offline)
    // is not evidence of anything, and the message is still shown.
    if (content.ktCheckpoint && !disabled.checkpointExchange) {
      await this.context.directory
        .observeCheckpoint(content.ktCheckpoint)
        .catch((error: unknown) => this.log.info('checkpoint-unchecked', errorFields(error)));
    }
    const targets = new Map<string, StoredMessage>();
    for (const targetId of targetsOf(content)) {
      const target = await store.getMessage(id, targetId);
      if (target) targets.set(targetId, target);
    }
    const shown = body.case === 'text' || body.case === 'attachment';
    const effects = applyContent({
      conversationId: id,
      self: this.context.identity.username,
      sender,
      content,
      info,
      senderContact,
      now,
      disabled,
      targets,
      expiresAt: shown ? await this.registry.expiryOf(id, info, content.expiresInSeconds, now) : 0,
      admins: body.case === 'groupName' ? await this.registry.adminsOf(id, info) : [],
      reset:
        body.case === 'groupReset' ? await this.resetView(id, toHex(body.value.previousGroupId)) : undefined,
    });
    for (const step of effects.steps) await this.carryOut(step);
    if (effects.sendDeliveredReceipt) {
      // A receipt that cannot go out now says little; the message itself is kept either way.
      await this.send(id, contentBody.receipt('delivered', [content.messageId])).catch((error: unknown) =>
        this.log.debug('receipt-not-sent', errorFields(error)),
      );
    }
  }

  private async carryOut(step: ContentStep): Promise<void> {
    const { store } = this.context;
    switch (step.kind) {
      case 'put-message':
        return store.putMessage(step.message);
      case 'delete-message':
        return store.deleteMessage(step.conversationId, step.messageId);
      case 'put-conversation':
        return store.putConversationInfo(step.info);
      case 'put-contact':
        return store.putContact(step.contact);
      case 'emit':
        this.context.emit(step.name, step.event);
        return;
    }
  }

  /** What a `groupReset` needs to know of the conversation it names (undefined: none held). */
  private async resetView(id: string, previousId: string): Promise<ResetView | undefined> {
    const previous = await this.context.store.getConversationInfo(previousId);
    if (!previous || previousId === id) return undefined;
    let old: Conversation;
    try {
      old = await this.registry.mls(previousId);
    } catch (error) {
      // Its MLS state is gone (deleted after a decline): nothing to link it to.
      if (!ClientError.is(error, 'unknown-conversation'))
        this.log.warn('reset-previous-unreadable', errorFields(error));
      return undefined;
    }
    return {
      previous,
      previousWasBroken: old.broken,
      previousMembers: old.members.map((m) => m.username),
      expected: survivingAccounts(old),
      actual: (await this.registry.mls(id)).members.map((m) => m.username),
    };
  }
}
