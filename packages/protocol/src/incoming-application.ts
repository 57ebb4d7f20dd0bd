// An application message from a member: decrypted and authenticated by ts-mls, attributed to
// its sender from the ratchet it advanced, dropped when its message id was already seen,
// checked against this member's history (its epoch tag: a fork) and noted for the
// missing-messages bookkeeping (skipped generations, the sender's statement about the
// previous epoch).
import { ValidationError, type ClientState, type MlsPrivateMessage } from 'ts-mls';
import { hex } from './bytes.js';
import { decodeContent, type Content } from './content.js';
import type { ConversationState } from './conversation-state.js';
import type { ProcessOutcome } from './conversation-types.js';
import type { DeviceAddress } from './credential.js';
import { ProtocolError } from './errors.js';
import { noteReceived, noteStatement } from './missing-messages.js';
import { classifyApplicationFailure, classifyMlsFailure, resultOfKind } from './mls-failure.js';
import { leafAt } from './roster.js';

/**
 * ts-mls does not return the sender of an application message. Decrypting it advances exactly
 * one leaf's ratchet in the secret tree of the message's epoch: that leaf is the sender, whose
 * signature ts-mls has verified with that leaf's key.
 */
function senderOfApplicationMessage(
  before: ClientState,
  after: ClientState,
  epoch: bigint,
): { address: DeviceAddress; leafIndex: number; generation: number } {
  const current = epoch === after.groupContext.epoch;
  const oldTree = current ? before.secretTree : before.historicalReceiverData.get(epoch)?.secretTree;
  const newTree = current ? after.secretTree : after.historicalReceiverData.get(epoch)?.secretTree;
  const ratchetTree = current ? after.ratchetTree : after.historicalReceiverData.get(epoch)?.ratchetTree;
  if (!oldTree || !newTree || !ratchetTree)
    throw new ProtocolError('tampered', 'message failed authentication');
  const changed = Object.keys(newTree.leafNodes).filter(
    (node) => newTree.leafNodes[Number(node)] !== oldTree.leafNodes[Number(node)],
  );
  if (changed.length !== 1) throw new ProtocolError('tampered', 'message failed authentication');
  const node = Number(changed[0]);
  const leafIndex = node / 2;
  const leaf = leafAt(ratchetTree, leafIndex);
  if (!leaf) throw new ProtocolError('tampered', 'message failed authentication');
  // The generation it was sent at: the ratchet moved past it, or its kept key was used.
  const was = oldTree.leafNodes[node]?.application;
  const now = newTree.leafNodes[node]!.application;
  let generation = now.generation - 1;
  if (was && now.generation === was.generation) {
    const used = Object.keys(was.unusedGenerations).filter(
      (g) => now.unusedGenerations[Number(g)] === undefined,
    );
    if (used.length !== 1) throw new ProtocolError('tampered', 'message failed authentication');
    generation = Number(used[0]);
  }
  return { address: leaf.address, leafIndex, generation };
}

/** Notes the generation received and the sender's statement about its previous epoch. */
function noteForMissingMessages(
  conversation: ConversationState,
  after: ClientState,
  sender: { address: DeviceAddress; leafIndex: number; generation: number },
  epoch: bigint,
  content: Content,
): void {
  const { address, leafIndex, generation } = sender;
  const record = conversation.missingRecord;
  const at = { current: conversation.epoch, leaf: leafIndex, sender: address, now: conversation.env.clock() };
  noteReceived(record, { ...at, epoch, generation });
  if (content.previousEpoch) {
    const stated = content.previousEpoch.epoch;
    const tree = after.historicalReceiverData.get(stated)?.ratchetTree;
    noteStatement(record, {
      ...at,
      epoch: stated,
      messageEpoch: epoch,
      sent: content.previousEpoch.sent,
      leafHolder: tree ? (leafAt(tree, leafIndex)?.address ?? null) : undefined,
    });
  }
}

export async function processApplicationMessage(
  conversation: ConversationState,
  message: MlsPrivateMessage,
): Promise<ProcessOutcome> {
  const header = message.privateMessage;
  const ignoreForksAndGaps = conversation.env.unsafeTestingIgnoreForksAndGaps === true;
  const before = conversation.mls;
  let processed;
  try {
    processed = await conversation.processMessage(message);
  } catch (err) {
    throw err instanceof ValidationError
      ? await classifyApplicationFailure(
          conversation.env.cipherSuite,
          conversation.env.limits,
          before,
          header,
          err,
        )
      : classifyMlsFailure(err, false);
  }
  const result = resultOfKind(processed, 'applicationMessage');
  const sender = senderOfApplicationMessage(before, result.newState, header.epoch);
  const content = decodeContent(result.message);
  const id = hex(content.messageId);
  if (content.messageId.length !== 16) throw new ProtocolError('malformed', 'message id must be 16 bytes');
  conversation.mls = result.newState;
  if (conversation.meta.seenMessageIds.includes(id)) {
    await conversation.save();
    return { kind: 'duplicate' };
  }
  conversation.meta.seenMessageIds = [...conversation.meta.seenMessageIds, id].slice(
    -conversation.env.limits.rememberedMessageIds,
  );
  if (!ignoreForksAndGaps)
    noteForMissingMessages(conversation, result.newState, sender, header.epoch, content);
  const expectedTag = conversation.meta.epochTags.find(([e]) => e === header.epoch.toString());
  if (
    expectedTag &&
    content.epochTag.length > 0 &&
    expectedTag[1] !== hex(content.epochTag) &&
    !ignoreForksAndGaps
  ) {
    await conversation.save();
    throw new ProtocolError('fork', 'a member shows a different history for this epoch');
  }
  await conversation.save();
  return { kind: 'message', sender: sender.address, content, epoch: header.epoch };
}
