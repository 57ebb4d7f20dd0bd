// A commit sequenced by the server for the current epoch. ts-mls checks it against RFC 9420
// and the authentication service; Ghostproof's own rules (commit-policy.ts) are checked in
// its callback before anything is applied. A commit this member cannot process breaks the
// conversation (the members must start a group reset), except one that removes this device
// anyway. What it did is derived from the trees and settings before and after it.
import {
  defaultProposalTypes,
  type ClientState,
  type IncomingMessageAction,
  type MlsPrivateMessage,
  type Proposal,
} from 'ts-mls';
import { commitPolicyViolation } from './commit-policy.js';
import type { ConversationState } from './conversation-state.js';
import type { ProcessOutcome } from './conversation-types.js';
import { ProtocolError } from './errors.js';
import { classifyMlsFailure, resultOfKind } from './mls-failure.js';
import { diffRoster, leafAt, leaversOf, type SentProposal } from './roster.js';
import { settingsEvents, settingsOf } from './settings-extension.js';

/**
 * A member's signed commit that removes this device, refused only for its form (no update
 * path: a client that was not upgraded): this device is out either way, and derives nothing
 * from it. It is told so, as for any removal, not alarmed. Undefined for any other commit.
 */
async function refusedRemovalOfSelf(
  conversation: ConversationState,
  before: ClientState,
  committer: number | undefined,
  committed: readonly { proposal: Proposal }[],
  epoch: bigint,
  bytes: Uint8Array,
): Promise<ProcessOutcome | undefined> {
  const by = leafAt(before.ratchetTree, committer);
  const ownLeaf = before.privatePath.leafIndex;
  const removesMe = committed.some(
    ({ proposal }) =>
      proposal.proposalType === defaultProposalTypes.remove &&
      'remove' in proposal &&
      proposal.remove.removed === ownLeaf,
  );
  if (!by || !removesMe) return undefined;
  conversation.mls = { ...before, groupActiveState: { kind: 'removedFromGroup' } };
  await conversation.rememberCommit(epoch, bytes);
  await conversation.save();
  return {
    kind: 'commit',
    epoch: conversation.epoch,
    events: [{ kind: 'you-were-removed', by: by.address }],
  };
}

export async function processCommit(
  conversation: ConversationState,
  message: MlsPrivateMessage,
  epoch: bigint,
  bytes: Uint8Array,
): Promise<ProcessOutcome> {
  const before = conversation.mls;
  let committer: number | undefined;
  let committed: readonly SentProposal[] = [];
  let rejected: string | undefined;
  let processed;
  try {
    processed = await conversation.processMessage(message, (incoming): IncomingMessageAction => {
      if (incoming.kind !== 'commit') return 'reject';
      committer = incoming.senderLeafIndex;
      committed = incoming.proposals;
      rejected = commitPolicyViolation(before, incoming.senderLeafIndex, incoming.proposals);
      return rejected ? 'reject' : 'accept';
    });
  } catch (err) {
    const failure = classifyMlsFailure(err, true);
    if (failure.code === 'invalid-commit') {
      const removed = await refusedRemovalOfSelf(conversation, before, committer, committed, epoch, bytes);
      if (removed) return removed;
      await conversation.markBroken(before, committer, committed);
    }
    throw failure;
  }
  const result = resultOfKind(processed, 'newState');
  if (result.actionTaken === 'reject' || rejected) {
    await conversation.markBroken(before, committer, committed);
    throw new ProtocolError('invalid-commit', `commit refused: ${rejected ?? 'policy'}`);
  }
  const by = leafAt(before.ratchetTree, committer);
  if (!by) {
    await conversation.markBroken(before, undefined, []);
    throw new ProtocolError('invalid-commit', 'commit from a non-member');
  }
  await conversation.mergeCommit(epoch, bytes, result.newState);
  return {
    kind: 'commit',
    epoch: conversation.epoch,
    events: [
      ...diffRoster(
        before.ratchetTree,
        result.newState.ratchetTree,
        by.address,
        conversation.selfAddress,
        leaversOf(before.ratchetTree, committed),
      ),
      ...settingsEvents(
        settingsOf(before.groupContext.extensions, conversation.kind),
        conversation.settings,
        by.address,
      ),
    ],
  };
}
