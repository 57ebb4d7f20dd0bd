// Rules beyond RFC 9420 that Ghostproof enforces on every commit it processes (DESIGN.md):
// no external commits, only the proposal types Ghostproof uses, a member's new device added
// only by that member, and settings changed only as the settings rules allow.
import { defaultProposalTypes, type ClientState, type Proposal } from 'ts-mls';
import { credentialAddress } from './credential.js';
import { leavesOf } from './roster.js';
import { settingsProposalViolation } from './settings-extension.js';

/** The proposal types a Ghostproof commit may cover: anything else is refused. */
const USED_PROPOSAL_TYPES: ReadonlySet<number> = new Set([
  defaultProposalTypes.add,
  defaultProposalTypes.remove,
  defaultProposalTypes.group_context_extensions,
]);

/** Why a commit by `senderLeafIndex` covering `proposals` is refused in `state`, or undefined. */
export function commitPolicyViolation(
  state: ClientState,
  senderLeafIndex: number | undefined,
  proposals: readonly { proposal: Proposal }[],
): string | undefined {
  // External commits are refused (DESIGN.md): membership changes only by members' commits.
  if (senderLeafIndex === undefined) return 'external commit';
  const leaves = leavesOf(state.ratchetTree);
  const committer = leaves.find((l) => l.leafIndex === senderLeafIndex);
  if (!committer) return 'committer not on the roster';
  const members = new Set(leaves.map((l) => l.address.username));
  for (const { proposal } of proposals) {
    if (proposal.proposalType === defaultProposalTypes.add && 'add' in proposal) {
      const address = credentialAddress(proposal.add.keyPackage.leafNode.credential);
      if (!address) return 'add of a foreign credential';
      // A new device of an existing member may be added only by that member's own device.
      if (members.has(address.username) && address.username !== committer.address.username) {
        return "another account's device added";
      }
    }
    if (
      proposal.proposalType === defaultProposalTypes.external_init ||
      proposal.proposalType === defaultProposalTypes.reinit ||
      proposal.proposalType === defaultProposalTypes.psk ||
      // Updates travel as commit paths, and no custom proposal type is defined.
      !USED_PROPOSAL_TYPES.has(proposal.proposalType)
    ) {
      return 'proposal type not used by Ghostproof';
    }
    // Settings (admins, timer) change only as settingsChangeViolation allows.
    if (
      proposal.proposalType === defaultProposalTypes.group_context_extensions &&
      'groupContextExtensions' in proposal
    ) {
      const violation = settingsProposalViolation(
        state.groupContext.extensions,
        proposal.groupContextExtensions.extensions,
        committer.address.username,
        members,
      );
      if (violation) return violation;
    }
  }
  return undefined;
}
