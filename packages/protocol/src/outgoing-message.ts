// What a member sends outside commits: its content messages, and the proposal to leave.
// Each replaces the MLS state (a message uses up a key of this device's ratchet), so each is
// saved before its bytes are handed out.
import {
  createApplicationMessage,
  createProposal,
  defaultProposalTypes,
  encode,
  mlsMessageEncoder,
} from 'ts-mls';
import { create, encodeContent, newMessageId, ContentSchema, type Content } from './content.js';
import type { ConversationState } from './conversation-state.js';
import { sameAddress } from './credential.js';
import { ProtocolError } from './errors.js';
import { noteSent, previousEpochStatement } from './missing-messages.js';
import { leavesOf } from './roster.js';

export interface EncryptOptions {
  messageId?: Uint8Array;
  ktCheckpoint?: string;
  expiresInSeconds?: number;
}

/**
 * Every message carries the epoch tag (a member showing another history is a fork), the
 * sender's statement about its sending in the previous epoch (missing-messages.ts) and the
 * timer in effect for the sender.
 */
export async function encryptMessage(
  conversation: ConversationState,
  body: Content['body'],
  options: EncryptOptions,
): Promise<{ message: Uint8Array; messageId: Uint8Array }> {
  conversation.requireActive();
  const messageId = options.messageId ?? newMessageId();
  const missing = conversation.missingRecord;
  const previousEpoch = previousEpochStatement(missing, conversation.epoch);
  const content = create(ContentSchema, {
    messageId,
    sentAt: BigInt(conversation.env.clock()),
    epochTag: await conversation.epochTag(),
    ktCheckpoint: options.ktCheckpoint ?? '',
    ...(previousEpoch ? { previousEpoch } : {}),
    // The sender's timer in effect travels in every message (docs/protocol.md, "Content").
    expiresInSeconds: options.expiresInSeconds ?? conversation.settings.disappearingSeconds,
    body,
  });
  const padded = encodeContent(content, conversation.env.limits.maxApplicationPlaintext);
  const { newState, message } = await createApplicationMessage({
    context: conversation.context(),
    state: conversation.mls,
    message: padded,
  });
  conversation.mls = newState;
  noteSent(missing, conversation.epoch);
  await conversation.save();
  return { message: encode(mlsMessageEncoder, message), messageId };
}

/**
 * Leaving is a proposal, not a commit: a member cannot remove itself by its own commit, and
 * the next committer includes the proposal. Each of an account's devices leaves on its own.
 */
export async function proposeLeave(conversation: ConversationState): Promise<Uint8Array> {
  conversation.requireActive();
  const self = conversation.env.self;
  const own = leavesOf(conversation.mls.ratchetTree).find((l) => sameAddress(l.address, self));
  if (!own) throw new ProtocolError('not-a-member', 'not on the roster');
  const { newState, message } = await createProposal({
    context: conversation.context(),
    state: conversation.mls,
    proposal: { proposalType: defaultProposalTypes.remove, remove: { removed: own.leafIndex } },
  });
  conversation.mls = newState;
  await conversation.save();
  return encode(mlsMessageEncoder, message);
}
