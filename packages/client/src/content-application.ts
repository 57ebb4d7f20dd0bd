// What a decrypted message means for this device, as a pure function: from the content, its
// sender and the state it refers to (loaded by the caller) to the store writes and events it
// implies, in order. The caller (received-content.ts) loads, applies and emits; this file
// decides, so each rule (only the author edits, only admins rename, a reset is linked only if
// it is the conversation as this device knows it) is tested without a server.
import { Receipt_Kind, type Content, type DeviceAddress } from '@ghostproof/protocol';
import { toHex } from './bytes.js';
import type { MessengerEvents } from './events.js';
import type { UnsafeTestingDisabledDefences } from './options.js';
import type { AttachmentInfo, Contact, ConversationInfo, StoredMessage } from './store.js';

/** Receipts name at most this many messages; the rest of a longer list is ignored. */
export const MAX_RECEIPT_TARGETS = 100;
const MAX_GROUP_NAME = 200;
const MAX_ADMINS = 64;
const MAX_DISPLAY_NAME = 100;

/** What this device knows of the conversation a `groupReset` says it replaces. */
export interface ResetView {
  readonly previous: ConversationInfo;
  readonly previousWasBroken: boolean;
  /** Accounts in the replaced conversation (as this device holds it). */
  readonly previousMembers: readonly string[];
  /** Its accounts less those its refused commit removed: who the replacement must hold. */
  readonly expected: readonly string[];
  /** Accounts in the replacement. */
  readonly actual: readonly string[];
}

export interface ReceivedContent {
  readonly conversationId: string;
  /** This device's account. */
  readonly self: string;
  readonly sender: DeviceAddress;
  readonly content: Content;
  readonly info: ConversationInfo;
  /** The sender's contact record, if any. */
  readonly senderContact: Contact | undefined;
  /** Receive time, by the messenger's clock. */
  readonly now: number;
  readonly disabled: Pick<
    UnsafeTestingDisabledDefences,
    'sharedDisappearingTimer' | 'authenticatedAdmins' | 'resetRosterCheck'
  >;
  /** Stored messages the content refers to (edit, delete, reaction, receipt), by hex id. */
  readonly targets: ReadonlyMap<string, StoredMessage>;
  /** For text and attachments: when the message disappears (0: never). */
  readonly expiresAt: number;
  /** For `groupName`: the group's admins (registry.adminsOf). */
  readonly admins: readonly string[];
  /** For `groupReset`: the replaced conversation; undefined when this device holds none. */
  readonly reset: ResetView | undefined;
}

export type EmitStep = {
  [K in keyof MessengerEvents]: {
    readonly kind: 'emit';
    readonly name: K;
    readonly event: MessengerEvents[K];
  };
}[keyof MessengerEvents];

export type ContentStep =
  | { readonly kind: 'put-message'; readonly message: StoredMessage }
  | { readonly kind: 'delete-message'; readonly conversationId: string; readonly messageId: string }
  | { readonly kind: 'put-conversation'; readonly info: ConversationInfo }
  | { readonly kind: 'put-contact'; readonly contact: Contact }
  | EmitStep;

export interface ContentEffects {
  /** Store writes and events, to be carried out in this order. */
  readonly steps: readonly ContentStep[];
  /** Whether to answer with a `delivered` receipt for the message. */
  readonly sendDeliveredReceipt: boolean;
}

const NOTHING: ContentEffects = { steps: [], sendDeliveredReceipt: false };

/** Content from a blocked account, or in a declined conversation, is dropped unread. */
export function acceptsContent(info: ConversationInfo, senderContact: Contact | undefined): boolean {
  return !senderContact?.blocked && info.status !== 'declined';
}

/** The hex ids of the stored messages `content` refers to, for the caller to load. */
export function targetsOf(content: Content): string[] {
  const body = content.body;
  switch (body.case) {
    case 'edit':
    case 'delete':
    case 'reaction':
      return [toHex(body.value.target)];
    case 'receipt':
      return [...new Set(body.value.targets.slice(0, MAX_RECEIPT_TARGETS).map(toHex))];
    default:
      return [];
  }
}

/** The store writes and events a received content message implies. Pure. */
export function applyContent(input: ReceivedContent): ContentEffects {
  const { conversationId: id, sender, content, info, disabled } = input;
  if (!acceptsContent(info, input.senderContact)) return NOTHING;
  const body = content.body;
  const steps: ContentStep[] = [];
  const conversationChanged = (updated: ConversationInfo) => {
    steps.push({ kind: 'put-conversation', info: updated });
    steps.push({ kind: 'emit', name: 'conversation', event: { conversation: updated } });
  };
  switch (body.case) {
    case 'text':
    case 'attachment': {
      const message = shownMessage(body, {
        conversationId: id,
        id: toHex(content.messageId),
        sender,
        sentAt: Number(content.sentAt),
        receivedAt: input.now,
        state: 'received',
        expiresAt: input.expiresAt,
      });
      steps.push({ kind: 'put-message', message });
      steps.push({
        kind: 'put-conversation',
        info: { ...info, unread: info.unread + 1, lastActivity: input.now },
      });
      steps.push({ kind: 'emit', name: 'message', event: { conversationId: id, message } });
      return { steps, sendDeliveredReceipt: info.status === 'active' };
    }
    case 'edit': {
      const target = input.targets.get(toHex(body.value.target));
      if (!target || target.sender.username !== sender.username) return NOTHING;
      const edited = { ...target, text: body.value.text, edited: true };
      steps.push({ kind: 'put-message', message: edited });
      steps.push({ kind: 'emit', name: 'edit', event: { conversationId: id, message: edited } });
      break;
    }
    case 'delete': {
      const target = input.targets.get(toHex(body.value.target));
      if (!target || target.sender.username !== sender.username) return NOTHING;
      steps.push({ kind: 'delete-message', conversationId: id, messageId: target.id });
      steps.push({ kind: 'emit', name: 'delete', event: { conversationId: id, messageId: target.id } });
      break;
    }
    case 'reaction': {
      const target = input.targets.get(toHex(body.value.target));
      if (!target) return NOTHING;
      const mine = new Set(target.reactions[sender.username] ?? []);
      if (body.value.remove) mine.delete(body.value.emoji);
      else mine.add(body.value.emoji);
      const reacted = { ...target, reactions: { ...target.reactions, [sender.username]: [...mine] } };
      steps.push({ kind: 'put-message', message: reacted });
      steps.push({ kind: 'emit', name: 'reaction', event: { conversationId: id, message: reacted } });
      break;
    }
    case 'receipt': {
      // A target named twice sees the first update, as a store read would.
      const current = new Map(input.targets);
      for (const targetId of body.value.targets.slice(0, MAX_RECEIPT_TARGETS).map(toHex)) {
        const target = current.get(targetId);
        if (!target || target.sender.username !== input.self) continue;
        const read = body.value.kind === Receipt_Kind.READ;
        const updated: StoredMessage = {
          ...target,
          deliveredTo: [...new Set([...target.deliveredTo, sender.username])],
          readTo: read ? [...new Set([...target.readTo, sender.username])] : target.readTo,
        };
        updated.state = updated.readTo.length > 0 ? 'read' : 'delivered';
        current.set(targetId, updated);
        steps.push({ kind: 'put-message', message: updated });
        steps.push({ kind: 'emit', name: 'receipt', event: { conversationId: id, message: updated } });
      }
      break;
    }
    case 'typing':
      steps.push({
        kind: 'emit',
        name: 'typing',
        event: { conversationId: id, from: sender, started: body.value.started },
      });
      break;
    case 'disappearingTimer':
      // Retired: the timer is in the MLS group context (docs/protocol.md). Only the negative
      // control's old client still takes it from this message.
      if (disabled.sharedDisappearingTimer)
        conversationChanged({ ...info, disappearingSeconds: body.value.seconds });
      break;
    case 'groupName':
      if (info.kind === 'group' && (input.admins.length === 0 || input.admins.includes(sender.username)))
        conversationChanged({ ...info, name: body.value.name.slice(0, MAX_GROUP_NAME) });
      break;
    case 'groupAdmins':
      // Retired: a content message never changes anyone's admin list; the MLS group context
      // is the only source. Only the negative control's old client still takes it
      // ("first sender wins").
      if (disabled.authenticatedAdmins && (info.admins.length === 0 || info.admins.includes(sender.username)))
        conversationChanged({ ...info, admins: body.value.usernames.slice(0, MAX_ADMINS) });
      break;
    case 'groupReset':
      return { steps: resetSteps(input, toHex(body.value.previousGroupId)), sendDeliveredReceipt: false };
    case 'profile': {
      const displayName = body.value.displayName.slice(0, MAX_DISPLAY_NAME);
      if (input.senderContact)
        steps.push({ kind: 'put-contact', contact: { ...input.senderContact, displayName } });
      steps.push({ kind: 'emit', name: 'profile', event: { username: sender.username, displayName } });
      break;
    }
    default:
      break;
  }
  return { steps, sendDeliveredReceipt: false };
}

/**
 * A member reset a conversation we share that could not continue: link the two, but only if
 * it is that conversation as this device knows it. The old one must be broken here too, and
 * the replacement must hold exactly its accounts less those the refused commit removed:
 * nobody brought in (a ghost, someone removed in a commit the resetter never processed),
 * nobody left out. Anything else stays a separate conversation.
 */
function resetSteps(input: ReceivedContent, previousId: string): ContentStep[] {
  const { reset, info, conversationId: id } = input;
  if (!reset || previousId === id || !reset.previousMembers.includes(input.sender.username)) return [];
  const expected = new Set(reset.expected);
  const actual = new Set(reset.actual);
  const newcomers = [...actual].filter((u) => !expected.has(u));
  const missing = [...expected].filter((u) => !actual.has(u));
  const steps: ContentStep[] = [];
  if (
    (!reset.previousWasBroken || newcomers.length > 0 || missing.length > 0) &&
    !input.disabled.resetRosterCheck
  ) {
    steps.push({
      kind: 'emit',
      name: 'alarm',
      event: {
        kind: 'reset-refused',
        conversationId: id,
        previousConversationId: previousId,
        previousWasBroken: reset.previousWasBroken,
        newcomers,
        missing,
      },
    });
    // Nothing is written there until the person accepts it, knowing who is in it.
    if (info.status === 'active')
      steps.push({ kind: 'put-conversation', info: { ...info, status: 'request' } });
    return steps;
  }
  steps.push({ kind: 'put-conversation', info: { ...reset.previous, status: 'left', replacedBy: id } });
  if (reset.previous.status === 'active' && info.status === 'request') {
    steps.push({ kind: 'put-conversation', info: { ...info, status: 'active', name: reset.previous.name } });
  }
  return steps;
}

/** The stored form of a text or attachment message, sent or received. */
export function shownMessage(
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
