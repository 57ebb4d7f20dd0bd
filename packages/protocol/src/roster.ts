// The roster of a conversation, read from its ratchet tree alone: every leaf names the device
// its credential holds (admitted by the authentication service), and what a commit did to the
// roster is the difference between the trees before and after it, attributed to its committer.
import { defaultProposalTypes, nodeTypes, type Proposal, type RatchetTree } from 'ts-mls';
import type { Member, RosterEvent } from './conversation-types.js';
import { addressKey, credentialAddress, sameAddress, type DeviceAddress } from './credential.js';
import { ProtocolError } from './errors.js';

/** A proposal as ts-mls reports it, with the leaf that sent it (undefined: not a member). */
export interface SentProposal {
  readonly proposal: Proposal;
  readonly senderLeafIndex: number | undefined;
}

/** Every non-blank leaf of a ratchet tree with the device its credential names. */
export function leavesOf(
  tree: RatchetTree,
): { leafIndex: number; address: DeviceAddress; signatureKey: Uint8Array }[] {
  const out: { leafIndex: number; address: DeviceAddress; signatureKey: Uint8Array }[] = [];
  for (let node = 0; node < tree.length; node += 2) {
    const entry = tree[node];
    if (!entry || entry.nodeType !== nodeTypes.leaf) continue;
    const address = credentialAddress(entry.leaf.credential);
    // The authentication service admitted every leaf; one we cannot read is a bug, not a peer.
    if (!address) throw new ProtocolError('unknown-credential', 'roster: a leaf with a foreign credential');
    out.push({ leafIndex: node / 2, address, signatureKey: entry.leaf.signaturePublicKey });
  }
  return out;
}

/** The device at `leafIndex`, if the tree has one there. */
export function leafAt(
  tree: RatchetTree,
  leafIndex: number | undefined,
): { leafIndex: number; address: DeviceAddress; signatureKey: Uint8Array } | undefined {
  return leafIndex === undefined ? undefined : leavesOf(tree).find((l) => l.leafIndex === leafIndex);
}

export function rosterOf(tree: RatchetTree): Member[] {
  const byUser = new Map<string, number[]>();
  for (const { address } of leavesOf(tree)) {
    byUser.set(address.username, [...(byUser.get(address.username) ?? []), address.deviceId]);
  }
  return [...byUser].map(([username, ids]) => ({ username, deviceIds: ids.sort((a, b) => a - b) }));
}

/** Roster changes between two trees, attributed to the committer. */
export function diffRoster(
  before: RatchetTree,
  after: RatchetTree,
  by: DeviceAddress,
  self: DeviceAddress,
  leavers: ReadonlySet<string>,
): RosterEvent[] {
  const beforeLeaves = leavesOf(before).map((l) => l.address);
  const afterLeaves = leavesOf(after).map((l) => l.address);
  const had = new Set(beforeLeaves.map(addressKey));
  const has = new Set(afterLeaves.map(addressKey));
  const usersBefore = new Set(beforeLeaves.map((a) => a.username));
  const usersAfter = new Set(afterLeaves.map((a) => a.username));
  const events: RosterEvent[] = [];
  const added = afterLeaves.filter((a) => !had.has(addressKey(a)));
  for (const username of new Set(added.map((a) => a.username))) {
    const deviceIds = added.filter((a) => a.username === username).map((a) => a.deviceId);
    if (!usersBefore.has(username)) events.push({ kind: 'member-added', by, username, deviceIds });
    else for (const deviceId of deviceIds) events.push({ kind: 'device-added', by, username, deviceId });
  }
  const removed = beforeLeaves.filter((a) => !has.has(addressKey(a)));
  for (const address of removed) {
    if (sameAddress(address, self)) {
      events.push({ kind: leavers.has(addressKey(address)) ? 'you-left' : 'you-were-removed', by });
    } else if (!usersAfter.has(address.username)) {
      if (
        !events.some((e) =>
          e.kind === 'member-removed' || e.kind === 'member-left' ? e.username === address.username : false,
        )
      ) {
        events.push(
          leavers.has(addressKey(address))
            ? { kind: 'member-left', username: address.username }
            : { kind: 'member-removed', by, username: address.username },
        );
      }
    } else {
      events.push({ kind: 'device-removed', by, username: address.username, deviceId: address.deviceId });
    }
  }
  return events;
}

/** Devices whose removal they proposed themselves (leaving), as address keys. */
export function leaversOf(tree: RatchetTree, proposals: readonly SentProposal[]): Set<string> {
  const leaves = leavesOf(tree);
  const out = new Set<string>();
  for (const p of proposals) {
    if (p.proposal.proposalType !== defaultProposalTypes.remove || !('remove' in p.proposal)) continue;
    if (p.senderLeafIndex === undefined || p.proposal.remove.removed !== p.senderLeafIndex) continue;
    const leaf = leaves.find((l) => l.leafIndex === p.senderLeafIndex);
    if (leaf) out.add(addressKey(leaf.address));
  }
  return out;
}

/** Whether `p` is a member's proposal to remove its own leaf (leaving). */
export function isSelfRemove(tree: RatchetTree, p: SentProposal): boolean {
  return (
    p.senderLeafIndex !== undefined &&
    p.proposal.proposalType === defaultProposalTypes.remove &&
    'remove' in p.proposal &&
    p.proposal.remove.removed === p.senderLeafIndex &&
    leavesOf(tree).some((l) => l.leafIndex === p.senderLeafIndex)
  );
}

/** The leaves a set of proposals removes, as devices of `tree`. */
export function removedBy(tree: RatchetTree, proposals: readonly { proposal: Proposal }[]): DeviceAddress[] {
  const leaves = leavesOf(tree);
  return proposals.flatMap(({ proposal }) =>
    proposal.proposalType === defaultProposalTypes.remove && 'remove' in proposal
      ? leaves.filter((l) => l.leafIndex === proposal.remove.removed).map((l) => l.address)
      : [],
  );
}
