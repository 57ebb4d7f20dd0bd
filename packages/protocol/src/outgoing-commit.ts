// Commits this device makes, through their lifecycle: prepare (the commit and the state it
// leads to are saved as pending before anything is sent), then confirm when the server
// accepted it, or discard when it answered stale-epoch. Every prepared commit carries an
// update path, and one the members would refuse is refused here, before it exists.
import type { DeviceList } from '@ghostproof/api';
import {
  createCommit,
  defaultProposalTypes,
  encode,
  makeCustomExtension,
  mlsMessageEncoder,
  type KeyPackage,
  type Proposal,
} from 'ts-mls';
import { hex } from './bytes.js';
import { applySettingsChange, encodeSettings, type SettingsChange } from './conversation-settings.js';
import type { ConversationState } from './conversation-state.js';
import type { PendingCommit, RosterEvent } from './conversation-types.js';
import { addressKey, sameAddress, type DeviceAddress } from './credential.js';
import { ProtocolError } from './errors.js';
import { CONVERSATION_EXTENSION, verifyClaimedKeyPackage } from './key-packages.js';
import { diffRoster, leaversOf, leavesOf, rosterOf } from './roster.js';
import { settingsEvents, settingsOf, settingsProposalViolation } from './settings-extension.js';

export interface PreparedAdd {
  pending: PendingCommit | undefined;
  missing: DeviceAddress[];
}

export interface MemberAddition {
  username: string;
  keyPackages: ReadonlyMap<number, Uint8Array>;
}

async function prepareCommit(
  conversation: ConversationState,
  proposals: Proposal[],
  routing: PendingCommit['routing'],
): Promise<PendingCommit> {
  conversation.requireActive();
  if (conversation.meta.broken) throw new ProtocolError('invalid-commit', 'conversation needs a reset');
  if (conversation.pending) throw new ProtocolError('not-allowed', 'a commit is already pending');
  const before = conversation.mls.ratchetTree;
  const leaving = leaversOf(before, Object.values(conversation.mls.unappliedProposals));
  // A commit also applies pending leave proposals: the server must stop delivering to
  // those devices too, or every member sees a routing list with a mailbox off the roster.
  const leavers = leavesOf(before)
    .map((l) => l.address)
    .filter((a) => leaving.has(addressKey(a)) && !routing.remove.some((r) => sameAddress(r, a)));
  if (leavers.length > 0) routing = { add: routing.add, remove: [...routing.remove, ...leavers] };
  const { newState, commit, welcome } = await createCommit({
    context: conversation.context(),
    state: conversation.mls,
    extraProposals: proposals,
    ratchetTreeExtension: true,
  });
  const self = conversation.selfAddress;
  const events: RosterEvent[] = [
    ...diffRoster(before, newState.ratchetTree, self, self, leaving),
    ...settingsEvents(
      conversation.settings,
      settingsOf(newState.groupContext.extensions, conversation.kind),
      self,
    ),
  ];
  conversation.pending = {
    meta: {
      id: hex(crypto.getRandomValues(new Uint8Array(16))),
      epoch: conversation.epoch.toString(),
      routing,
      events,
    },
    commit: encode(mlsMessageEncoder, commit),
    welcome: welcome ? encode(mlsMessageEncoder, welcome) : undefined,
    newState,
  };
  // Persisted before it is sent, so that a restart resends the same bytes under the same id.
  await conversation.save();
  return conversation.pendingCommit!;
}

/** One checked key package per device of `list` that has one; the others go to `missing`. */
async function verifiedPackages(
  conversation: ConversationState,
  list: DeviceList,
  keyPackages: ReadonlyMap<number, Uint8Array>,
  missing: DeviceAddress[],
): Promise<{ keyPackage: KeyPackage; address: DeviceAddress }[]> {
  const out: { keyPackage: KeyPackage; address: DeviceAddress }[] = [];
  for (const device of list.devices) {
    const address = { username: list.username, deviceId: device.id };
    const bytes = keyPackages.get(device.id);
    if (!bytes) {
      missing.push(address);
      continue;
    }
    const keyPackage = await verifyClaimedKeyPackage(
      bytes,
      { username: list.username, device, cipherSuite: conversation.mls.groupContext.cipherSuite },
      conversation.env.clock(),
    );
    out.push({ keyPackage, address });
  }
  return out;
}

function addProposals(packages: readonly { keyPackage: KeyPackage }[]): Proposal[] {
  return packages.map((p) => ({ proposalType: defaultProposalTypes.add, add: { keyPackage: p.keyPackage } }));
}

/** Every package is checked before any commit is made: a device never slips in unchecked. */
export async function prepareAddMembers(
  conversation: ConversationState,
  additions: readonly MemberAddition[],
  options: { allowMissing?: boolean },
): Promise<PreparedAdd> {
  const present = new Set(rosterOf(conversation.mls.ratchetTree).map((m) => m.username));
  const packages: { keyPackage: KeyPackage; address: DeviceAddress }[] = [];
  const missing: DeviceAddress[] = [];
  for (const { username, keyPackages } of additions) {
    if (present.has(username)) throw new ProtocolError('not-allowed', 'account is already a member');
    const list = await conversation.env.directory.lookup(username);
    if (!list) throw new ProtocolError('unknown-credential', 'no verified device list for the account');
    packages.push(...(await verifiedPackages(conversation, list, keyPackages, missing)));
  }
  if (missing.length > 0 && !options.allowMissing) return { pending: undefined, missing };
  if (packages.length === 0) return { pending: undefined, missing };
  const routing = { add: packages.map((p) => p.address), remove: [] };
  return { pending: await prepareCommit(conversation, addProposals(packages), routing), missing };
}

/** DESIGN.md: only a device of the same account may add a member's new device. */
export async function prepareAddOwnDevices(
  conversation: ConversationState,
  keyPackages: ReadonlyMap<number, Uint8Array>,
): Promise<PreparedAdd> {
  const list = await conversation.env.directory.lookup(conversation.env.self.username);
  if (!list) throw new ProtocolError('unknown-credential', 'no verified device list for this account');
  const onRoster = new Set(leavesOf(conversation.mls.ratchetTree).map((l) => addressKey(l.address)));
  const newDevices = {
    ...list,
    devices: list.devices.filter(
      (d) => !onRoster.has(addressKey({ username: list.username, deviceId: d.id })),
    ),
  };
  const missing: DeviceAddress[] = [];
  const packages = await verifiedPackages(conversation, newDevices, keyPackages, missing);
  if (packages.length === 0) return { pending: undefined, missing };
  const routing = { add: packages.map((p) => p.address), remove: [] };
  return { pending: await prepareCommit(conversation, addProposals(packages), routing), missing };
}

/** A commit removing `leaves`, which the caller found on the roster. */
function prepareRemoval(
  conversation: ConversationState,
  leaves: readonly { leafIndex: number; address: DeviceAddress }[],
): Promise<PendingCommit> {
  return prepareCommit(
    conversation,
    leaves.map((l) => ({ proposalType: defaultProposalTypes.remove, remove: { removed: l.leafIndex } })),
    { add: [], remove: leaves.map((l) => l.address) },
  );
}

/** This device cannot remove its own account: it leaves (a proposal) instead. */
export async function prepareRemoveMembers(
  conversation: ConversationState,
  usernames: readonly string[],
): Promise<PendingCommit> {
  const targets = new Set(usernames);
  if (targets.has(conversation.env.self.username))
    throw new ProtocolError('not-allowed', 'use leave to remove yourself');
  const leaves = leavesOf(conversation.mls.ratchetTree).filter((l) => targets.has(l.address.username));
  if (leaves.length === 0) throw new ProtocolError('not-allowed', 'no such member');
  return prepareRemoval(conversation, leaves);
}

/** Every device named must be on the roster, and none may be this one (it leaves instead). */
export async function prepareRemoveDevices(
  conversation: ConversationState,
  addresses: readonly DeviceAddress[],
): Promise<PendingCommit> {
  const wanted = new Set(addresses.map(addressKey));
  if (wanted.has(addressKey(conversation.env.self)))
    throw new ProtocolError('not-allowed', 'use leave to remove yourself');
  const leaves = leavesOf(conversation.mls.ratchetTree).filter((l) => wanted.has(addressKey(l.address)));
  if (leaves.length !== wanted.size) throw new ProtocolError('not-allowed', 'no such device');
  return prepareRemoval(conversation, leaves);
}

/** An empty commit: its update path alone gives forward secrecy and post-compromise security. */
export async function prepareSelfUpdate(conversation: ConversationState): Promise<PendingCommit> {
  return prepareCommit(conversation, [], { add: [], remove: [] });
}

/**
 * A GroupContextExtensions proposal with the new settings extension. Refused here, before
 * any commit exists, when the members would refuse it (see settingsChangeViolation): a commit
 * that members refuse breaks the group. In a group without an admin list yet, this first
 * settings commit names this device's account as admin unless `change.admins` says more.
 */
export async function prepareUpdateSettings(
  conversation: ConversationState,
  change: SettingsChange,
): Promise<PendingCommit> {
  conversation.requireActive();
  const self = conversation.env.self.username;
  const before = conversation.settings;
  let after = applySettingsChange(before, change);
  if (before.kind === 'group' && before.admins.length === 0 && change.admins === undefined) {
    after = { ...after, admins: [self] };
  }
  const extensions = [
    makeCustomExtension({ extensionType: CONVERSATION_EXTENSION, extensionData: encodeSettings(after) }),
  ];
  const violation = settingsProposalViolation(
    conversation.mls.groupContext.extensions,
    extensions,
    self,
    new Set(rosterOf(conversation.mls.ratchetTree).map((m) => m.username)),
  );
  if (violation) throw new ProtocolError('not-allowed', `settings: ${violation}`);
  return prepareCommit(
    conversation,
    [{ proposalType: defaultProposalTypes.group_context_extensions, groupContextExtensions: { extensions } }],
    { add: [], remove: [] },
  );
}

export async function confirmCommit(
  conversation: ConversationState,
  id: string,
): Promise<readonly RosterEvent[]> {
  const pending = conversation.pending;
  if (!pending || pending.meta.id !== id) throw new ProtocolError('not-allowed', 'no such pending commit');
  await conversation.mergeCommit(BigInt(pending.meta.epoch), pending.commit, pending.newState);
  return pending.meta.events;
}

/**
 * A no-op when it is no longer pending: the winning commit may have been processed first,
 * and processing it dropped ours.
 */
export async function discardCommit(conversation: ConversationState, id: string): Promise<void> {
  if (!conversation.pending || conversation.pending.meta.id !== id) return;
  conversation.pending = undefined;
  await conversation.save();
}
