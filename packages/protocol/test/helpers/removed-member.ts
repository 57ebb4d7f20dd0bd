// What a removed member can compute, played as an adversary would: it keeps its whole saved
// MLS state, receives the commit that removes it, and runs its own code (here the unpatched
// ts-mls's internals, as an old or modified client would), not our honest API. It decrypts
// the commit with the epoch keys it still holds, tries every private key it has against every
// encrypted path secret in the commit, and otherwise derives the next epoch as if the commit
// secret were zero (what a commit without an update path gives everyone). The confirmation tag
// tells it whether the epoch it derived is the group's.
import {
  createApplicationMessage,
  createCommit,
  decode,
  defaultProposalTypes,
  encode,
  mlsMessageDecoder,
  mlsMessageEncoder,
  processMessage,
  unsafeTestingAuthenticationService,
  wireformats,
  type ClientState,
  type MlsContext,
  type MlsFramedMessage,
  type Proposal,
} from 'ts-mls-unpatched';
import {
  applyProposals,
  makePskIndex,
  nextEpochContext,
} from '../../../../node_modules/ts-mls-unpatched/dist/src/clientState.js';
import { decryptWithLabel } from '../../../../node_modules/ts-mls-unpatched/dist/src/crypto/hpke.js';
import { verifyConfirmationTag } from '../../../../node_modules/ts-mls-unpatched/dist/src/framedContent.js';
import { groupContextEncoder } from '../../../../node_modules/ts-mls-unpatched/dist/src/groupContext.js';
import { initializeEpoch } from '../../../../node_modules/ts-mls-unpatched/dist/src/keySchedule.js';
import { unprotectPrivateMessage } from '../../../../node_modules/ts-mls-unpatched/dist/src/messageProtection.js';
import { createSecretTree } from '../../../../node_modules/ts-mls-unpatched/dist/src/secretTree.js';
import { treeHashRoot } from '../../../../node_modules/ts-mls-unpatched/dist/src/treeHash.js';
import { leafWidth, root, toLeafIndex } from '../../../../node_modules/ts-mls-unpatched/dist/src/treemath.js';
import { applyUpdatePath } from '../../../../node_modules/ts-mls-unpatched/dist/src/updatePath.js';
import { filteredDirectPathAndCopathResolution } from '../../../../node_modules/ts-mls-unpatched/dist/src/ratchetTree.js';
import { pathToRoot } from '../../../../node_modules/ts-mls-unpatched/dist/src/pathSecrets.js';
import { deriveSecret } from '../../../../node_modules/ts-mls-unpatched/dist/src/crypto/kdf.js';
import { decodeContent, type Content } from '@ghostproof/protocol';
import { attackerContext } from './raw-mls.js';

export interface RemovedMemberAttempt {
  /** Whether the commit it received carries an update path. */
  readonly commitHasPath: boolean;
  /** Encrypted path secrets it could open with any private key it holds. */
  readonly pathSecretsOpened: number;
  /** Whether the epoch it derived verifies the commit's confirmation tag (it is the group's). */
  readonly confirmationTagVerified: boolean;
  readonly exporterSecret: Uint8Array;
  readonly epochAuthenticator: Uint8Array;
  /** The state it derived for the new epoch (what it would go on with). */
  readonly derived: ClientState;
  /** Tries to read an application message of the new epoch with the state it derived. */
  read(message: Uint8Array): Promise<Content | undefined>;
}

export async function attemptAsRemovedMember(
  saved: ClientState,
  commitBytes: Uint8Array,
  cipherSuite: number,
): Promise<RemovedMemberAttempt> {
  const context = await attackerContext(cipherSuite);
  const cs = context.cipherSuite;
  const message = decode(mlsMessageDecoder, commitBytes);
  if (!message || message.wireformat !== wireformats.mls_private_message)
    throw new Error('not a PrivateMessage');
  const { content } = await unprotectPrivateMessage(
    saved.keySchedule.senderDataSecret,
    message.privateMessage,
    saved.secretTree,
    saved.ratchetTree,
    saved.groupContext,
    context.clientConfig!.keyRetentionConfig,
    cs,
  );
  const framed = content.content;
  if (!('commit' in framed)) throw new Error('not a commit');
  if (framed.sender.senderType !== 1) throw new Error('not a member commit');
  const committer = toLeafIndex(framed.sender.leafIndex);
  const tree = saved.ratchetTree.slice();
  const applied = await applyProposals(
    saved,
    tree,
    framed.commit.proposals,
    committer,
    makePskIndex(saved, {}),
    false,
    context.clientConfig!,
    unsafeTestingAuthenticationService,
    cs,
  );
  const extensions =
    applied.additionalResult.kind === 'memberCommit' && applied.additionalResult.extensions.length > 0
      ? applied.additionalResult.extensions
      : saved.groupContext.extensions;
  const groupContext = { ...saved.groupContext, extensions };
  const path = framed.commit.path;
  let pathSecretsOpened = 0;
  let commitSecret: Uint8Array | undefined;
  if (path) {
    await applyUpdatePath(tree, committer, path, cs.hash);
    const provisional = {
      ...groupContext,
      treeHash: await treeHashRoot(tree, cs.hash),
      epoch: groupContext.epoch + 1n,
    };
    const info = encode(groupContextEncoder, provisional);
    for (const privateKey of Object.values(saved.privatePath.privateKeys)) {
      const key = await cs.hpke.importPrivateKey(privateKey);
      for (const [n, node] of path.nodes.entries()) {
        for (const secret of node.encryptedPathSecret) {
          try {
            const opened = await decryptWithLabel(
              key,
              'UpdatePathNode',
              info,
              secret.kemOutput,
              secret.ciphertext,
              cs.hpke,
            );
            pathSecretsOpened++;
            // The path node it belongs to, and from it every secret up to the root.
            const nodeIndex = filteredDirectPathAndCopathResolution(committer, tree)[n]!.nodeIndex;
            const secrets = await pathToRoot(tree, nodeIndex, opened, cs.kdf);
            const rootSecret = secrets[root(leafWidth(tree.length))];
            if (rootSecret) commitSecret = await deriveSecret(rootSecret, 'path', cs.kdf);
          } catch {
            // Not encrypted to this key: the expected outcome for a removed member.
          }
        }
      }
    }
  }
  const treeHash = await treeHashRoot(tree, cs.hash);
  const next = await nextEpochContext(
    groupContext,
    'mls_private_message',
    framed,
    content.auth.signature,
    treeHash,
    saved.confirmationTag,
    cs.hash,
  );
  // With a path secret it could open, the commit secret follows from it; without one, the best
  // it can do is the commit secret of a path-less commit: all zeros.
  const zero = new Uint8Array(cs.kdf.size);
  const epoch = await initializeEpoch(
    saved.keySchedule.initSecret,
    commitSecret ?? zero,
    next,
    applied.pskSecret,
    cs.kdf,
  );
  const auth = content.auth;
  const confirmationTag = 'confirmationTag' in auth ? auth.confirmationTag : undefined;
  if (!confirmationTag) throw new Error('a commit without a confirmation tag');
  const confirmationTagVerified = await verifyConfirmationTag(
    epoch.keySchedule.confirmationKey,
    confirmationTag,
    next.confirmedTranscriptHash,
    cs.hash,
  );
  const derived: ClientState = {
    ...saved,
    groupContext: next,
    keySchedule: epoch.keySchedule,
    secretTree: createSecretTree(leafWidth(tree.length), epoch.encryptionSecret),
    ratchetTree: tree,
    confirmationTag,
    unappliedProposals: {},
    groupActiveState: { kind: 'active' },
  };
  return {
    commitHasPath: path !== undefined,
    pathSecretsOpened,
    confirmationTagVerified,
    exporterSecret: epoch.keySchedule.exporterSecret,
    epochAuthenticator: epoch.keySchedule.epochAuthenticator,
    derived,
    async read(bytes) {
      try {
        const result = await processMessage({ context, state: derived, message: framedMessage(bytes) });
        return result.kind === 'applicationMessage' ? decodeContent(result.message) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * The unpatched library's rule, for negative controls: the committer removes `leafIndexes`
 * (or, with none, commits the pending proposals) with rc.10 as published, which leaves the
 * update path out of a one-member remove. Returns the commit and the committer's new state.
 */
export async function commitWithUnpatchedRule(
  committer: ClientState,
  leafIndexes: readonly number[],
  cipherSuite: number,
): Promise<{ commit: Uint8Array; newState: ClientState; context: MlsContext }> {
  return commitProposalsWithUnpatchedRule(
    committer,
    leafIndexes.map((removed) => ({ proposalType: defaultProposalTypes.remove, remove: { removed } })),
    cipherSuite,
  );
}

/** Any proposals committed with rc.10 as published (see commitWithUnpatchedRule). */
export async function commitProposalsWithUnpatchedRule(
  committer: ClientState,
  proposals: Proposal[],
  cipherSuite: number,
): Promise<{ commit: Uint8Array; newState: ClientState; context: MlsContext }> {
  const context = await attackerContext(cipherSuite);
  const { commit, newState } = await createCommit({ context, state: committer, extraProposals: proposals });
  return { commit: encode(mlsMessageEncoder, commit), newState, context };
}

/** An application message from a state made by the unpatched library (the control's sender). */
export async function sendWithUnpatched(
  state: ClientState,
  context: MlsContext,
  padded: Uint8Array,
): Promise<Uint8Array> {
  const { message } = await createApplicationMessage({ context, state, message: padded });
  return encode(mlsMessageEncoder, message);
}

/** Decodes MLSMessage bytes that must be a PublicMessage or a PrivateMessage. */
export function framedMessage(bytes: Uint8Array): MlsFramedMessage {
  const message = decode(mlsMessageDecoder, bytes);
  if (
    !message ||
    (message.wireformat !== wireformats.mls_private_message &&
      message.wireformat !== wireformats.mls_public_message)
  )
    throw new Error('not a framed MLS message');
  return message;
}
