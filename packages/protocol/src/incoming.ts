// One MLSMessage from the server, checked before ts-mls sees it (size, wire format, this
// conversation, an encrypted handshake, an epoch this member has reached) and then handed to
// the handler of its content type: application message, proposal or commit. Alarms (fork,
// gap, invalid-commit, tampered, replay, ...) are thrown as ProtocolErrors; a message that
// fails leaves the stored state unchanged.
import { constantTimeEqual } from '@ghostproof/crypto';
import {
  contentTypes,
  decode,
  mlsMessageDecoder,
  wireformats,
  type MlsPrivateMessage,
  type PrivateMessage,
} from 'ts-mls';
import type { ConversationState } from './conversation-state.js';
import type { ProcessOutcome } from './conversation-types.js';
import { ProtocolError } from './errors.js';
import { processApplicationMessage } from './incoming-application.js';
import { processCommit } from './incoming-commit.js';
import { processProposal } from './incoming-proposal.js';

export async function processIncoming(
  conversation: ConversationState,
  bytes: Uint8Array,
): Promise<ProcessOutcome> {
  const message = decodeIncoming(conversation, bytes);
  const header = message.privateMessage;
  const out = await outOfEpochOutcome(conversation, header, bytes);
  if (out) return out;
  switch (header.contentType) {
    case contentTypes.application:
      return processApplicationMessage(conversation, message);
    case contentTypes.proposal:
      return processProposal(conversation, message);
    default:
      return processCommit(conversation, message, header.epoch, bytes);
  }
}

/** The PrivateMessage in `bytes`, if this conversation can process one of its size now. */
function decodeIncoming(conversation: ConversationState, bytes: Uint8Array): MlsPrivateMessage {
  const limits = conversation.env.limits;
  if (bytes.length > limits.maxHandshakeBytes) throw new ProtocolError('too-large', 'message too large');
  const message = decode(mlsMessageDecoder, bytes);
  if (!message) throw new ProtocolError('tampered', 'message failed authentication');
  if (message.wireformat === wireformats.mls_public_message) {
    throw new ProtocolError('public-message-refused', 'handshake messages must be encrypted');
  }
  if (message.wireformat !== wireformats.mls_private_message) {
    throw new ProtocolError('malformed', 'not a conversation message');
  }
  const header = message.privateMessage;
  if (!constantTimeEqual(header.groupId, conversation.groupId))
    throw new ProtocolError('malformed', 'another conversation');
  // A conversation that could not continue is being replaced: what still arrives for it
  // (later epochs of the commit it refused) is expected, and raises no further alarm.
  if (conversation.meta.broken)
    throw new ProtocolError('not-a-member', 'this conversation could not continue');
  const handshake = header.contentType !== contentTypes.application;
  if (handshake && bytes.length > limits.maxHandshakeBytes) {
    throw new ProtocolError('too-large', 'handshake too large');
  }
  if (!handshake && bytes.length > limits.maxApplicationPlaintext + 4096) {
    throw new ProtocolError('too-large', 'application message too large');
  }
  return message;
}

/**
 * What a message from an epoch other than the current one means, before ts-mls sees it: a
 * later epoch is a gap (something was withheld); an earlier commit is a redelivery, or a fork
 * if it differs from the one merged. A removed member stays in the epoch its removal ended:
 * another commit for that epoch is a fork (the server showed it a removal the others did not
 * see), not silence. Undefined when the message is for the member to process.
 */
async function outOfEpochOutcome(
  conversation: ConversationState,
  header: PrivateMessage,
  bytes: Uint8Array,
): Promise<ProcessOutcome | undefined> {
  const ignoreForksAndGaps = conversation.env.unsafeTestingIgnoreForksAndGaps === true;
  const commit = header.contentType === contentTypes.commit;
  if (header.epoch > conversation.epoch) {
    if (ignoreForksAndGaps) return { kind: 'duplicate' };
    throw new ProtocolError('gap', 'message from an epoch this member has not reached');
  }
  if (commit && header.epoch < conversation.epoch) {
    if ((await conversation.differsFromMergedCommit(header.epoch, bytes)) && !ignoreForksAndGaps) {
      throw new ProtocolError('fork', 'a different commit for an epoch already processed');
    }
    return { kind: 'duplicate' };
  }
  if (conversation.mls.groupActiveState.kind !== 'active') {
    if (commit && header.epoch === conversation.epoch && !ignoreForksAndGaps) {
      const differs = await conversation.differsFromMergedCommit(header.epoch, bytes);
      if (differs)
        throw new ProtocolError('fork', 'a different commit for the epoch that removed this member');
      if (differs === false) return { kind: 'duplicate' };
    }
    throw new ProtocolError('not-a-member', 'not in the conversation');
  }
  return undefined;
}
