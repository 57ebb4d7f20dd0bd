// Sending content: encrypt in the conversation's current epoch, keep a shown copy of text and
// attachments, and hand the ciphertext to the outbox. Every SELF_UPDATE_MESSAGES messages a
// self-update follows (DESIGN.md).
import { body as contentBody, effectiveDisappearingSeconds, type Content } from '@ghostproof/protocol';
import { fromHex, toHex } from './bytes.js';
import type { CommitRunner } from './commit-runner.js';
import { shownMessage } from './content-application.js';
import type { MessengerContext } from './context.js';
import type { ConversationRegistry } from './conversation-registry.js';
import { ClientError } from './errors.js';
import { SELF_UPDATE_MESSAGES } from './options.js';
import type { Outbox } from './outbox.js';
import type { UpdatePathHeal } from './update-path-heal.js';

export interface SendingDeps {
  readonly registry: ConversationRegistry;
  readonly heal: UpdatePathHeal;
  readonly outbox: Outbox;
  readonly commits: CommitRunner;
  /** Whether a commit of this conversation is held waiting for key transparency (inbound.ts). */
  readonly isHeld: (id: string) => boolean;
}

export class Sending {
  constructor(
    private readonly context: MessengerContext,
    private readonly deps: SendingDeps,
  ) {}

  /**
   * Encrypts content, stores it in the outbox, and sends it (now, or on reconnect).
   * @throws ClientError `unknown-conversation` (none, or not active), `verification-pending`
   *   (a commit of it waits for key transparency), `identity-changed` (a verified member's
   *   key changed, not acknowledged); ProtocolError from encryption (`too-large`); as
   *   CommitRunner.commitWithRetry when the conversation must first be healed.
   */
  async send(
    id: string,
    body: Content['body'],
    options: { expiresInSeconds?: number } = {},
  ): Promise<string> {
    const { registry, outbox } = this.deps;
    const { store, clock, identity, disabled } = this.context;
    const info = await registry.info(id);
    if (info.status !== 'active') throw new ClientError('unknown-conversation', 'conversation is not active');
    if (this.deps.isHeld(id)) {
      throw new ClientError(
        'verification-pending',
        'a change to this conversation is waiting for its keys to be checked: try again shortly',
      );
    }
    // Receipts and typing go out from inside the delivery queue, which a heal's commit may
    // have to wait for; they say little, and the heal comes with the next real message.
    if (body.case !== 'receipt' && body.case !== 'typing') await this.deps.heal.healBeforeSending(id);
    const conversation = await registry.mls(id);
    for (const member of conversation.members) {
      const contact = await store.getContact(member.username);
      if (contact?.verified && contact.identityChangedAt > 0) {
        throw new ClientError(
          'identity-changed',
          'a verified contact’s identity changed: acknowledge it first',
        );
      }
    }
    // The timer in effect travels in the message; a per-message timer can only be stricter.
    const seconds = disabled.sharedDisappearingTimer
      ? (options.expiresInSeconds ?? info.disappearingSeconds)
      : effectiveDisappearingSeconds(
          conversation.settings.disappearingSeconds,
          options.expiresInSeconds ?? 0,
        );
    const checkpoint = this.context.directory.newestCheckpoint;
    const { message, messageId } = await conversation.encrypt(body, {
      ...(checkpoint ? { ktCheckpoint: checkpoint } : {}),
      expiresInSeconds: disabled.sharedDisappearingTimer ? 0 : seconds,
    });
    const hexId = toHex(messageId);
    const shown = body.case === 'text' || body.case === 'attachment';
    if (shown) {
      await store.putMessage(
        shownMessage(body, {
          conversationId: id,
          id: hexId,
          sender: { username: identity.username, deviceId: identity.deviceId },
          sentAt: clock.now(),
          receivedAt: clock.now(),
          state: 'sending',
          expiresAt: seconds > 0 ? clock.now() + seconds * 1000 : 0,
        }),
      );
    }
    await outbox.enqueue(id, message, shown ? hexId : undefined);
    const updated = await registry.info(id);
    updated.sentSinceUpdate += 1;
    updated.lastActivity = clock.now();
    await store.putConversationInfo(updated);
    // Not awaited: a send may come from inside the delivery queue (a receipt), and a commit
    // that loses a race waits for that queue.
    if (updated.sentSinceUpdate >= SELF_UPDATE_MESSAGES && this.context.online())
      this.deps.commits.selfUpdateSoon(id);
    return hexId;
  }

  /**
   * Edits one of this account's own messages.
   * @throws ClientError `unknown-conversation` (no such message of ours); as `send`.
   */
  async edit(id: string, messageId: string, text: string): Promise<void> {
    const message = await this.ownMessage(id, messageId, 'only your own messages can be edited');
    await this.send(id, contentBody.edit(fromHex(messageId), text));
    await this.context.store.putMessage({ ...message, text, edited: true });
  }

  /**
   * Deletes one of this account's own messages for every member.
   * @throws ClientError `unknown-conversation` (no such message of ours); as `send`.
   */
  async deleteForEveryone(id: string, messageId: string): Promise<void> {
    await this.ownMessage(id, messageId, 'only your own messages can be deleted');
    await this.send(id, contentBody.delete(fromHex(messageId)));
    await this.context.store.deleteMessage(id, messageId);
  }

  /**
   * Marks the conversation read and sends a `read` receipt for its unread messages.
   * @throws ClientError `unknown-conversation`; as `send`.
   */
  async markRead(id: string): Promise<void> {
    const { store, identity } = this.context;
    const unread = (await store.listMessages(id)).filter(
      (m) => m.state === 'received' && m.sender.username !== identity.username,
    );
    const info = await this.deps.registry.info(id);
    await store.putConversationInfo({ ...info, unread: 0 });
    if (unread.length === 0) return;
    await this.send(
      id,
      contentBody.receipt(
        'read',
        unread.slice(-100).map((m) => fromHex(m.id)),
      ),
    );
    // For a received message, `read` means this account read it: its receipt is not sent again.
    for (const m of unread) await store.putMessage({ ...m, state: 'read' });
  }

  private async ownMessage(id: string, messageId: string, refusal: string) {
    const message = await this.context.store.getMessage(id, messageId);
    if (!message || message.sender.username !== this.context.identity.username) {
      throw new ClientError('unknown-conversation', refusal);
    }
    return message;
  }
}
