// A standalone proposal from a member. Ghostproof members propose only their own removal
// (leaving); anything else waits for a commit, which carries it by value. An accepted leave
// proposal is kept in the MLS state until the next commit applies it.
import { type MlsPrivateMessage, type IncomingMessageAction } from 'ts-mls';
import type { ConversationState } from './conversation-state.js';
import type { ProcessOutcome } from './conversation-types.js';
import { ProtocolError } from './errors.js';
import { classifyMlsFailure, resultOfKind } from './mls-failure.js';
import { isSelfRemove, leafAt, type SentProposal } from './roster.js';

export async function processProposal(
  conversation: ConversationState,
  message: MlsPrivateMessage,
): Promise<ProcessOutcome> {
  const before = conversation.mls;
  let proposal: SentProposal | undefined;
  let leaving = false;
  let processed;
  try {
    processed = await conversation.processMessage(message, (incoming): IncomingMessageAction => {
      if (incoming.kind !== 'proposal') return 'reject';
      proposal = incoming.proposal;
      leaving = isSelfRemove(before.ratchetTree, incoming.proposal);
      return leaving ? 'accept' : 'reject';
    });
  } catch (err) {
    throw classifyMlsFailure(err, false);
  }
  const result = resultOfKind(processed, 'newState');
  const from = leafAt(before.ratchetTree, proposal?.senderLeafIndex);
  if (!from || !leaving || result.actionTaken === 'reject') {
    throw new ProtocolError('not-allowed', 'proposal refused');
  }
  conversation.mls = result.newState;
  await conversation.save();
  return { kind: 'proposal', from: from.address, leave: true };
}
