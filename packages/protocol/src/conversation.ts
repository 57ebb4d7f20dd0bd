// A conversation is one MLS group. This facade is the only way the rest of the project drives
// ts-mls for conversations; only encoded bytes cross its boundary. It derives the roster and
// every "X added Y" event from the commits it processes (never from server notices), raises
// the alarms of DESIGN.md (invalid-commit, fork, gap), refuses PublicMessage handshakes, and
// follows the commit lifecycle: prepare → send → confirm (accepted) or discard (stale-epoch).
// The work lives beside it: outgoing-message.ts and outgoing-commit.ts (what this device
// sends), incoming.ts with one handler per content type (what it receives), and
// conversation-state.ts (the state every operation replaces, and its saved form).
import type { ClientState } from 'ts-mls';
import { sha256, utf8 } from './bytes.js';
import type { Content } from './content.js';
import type { ConversationEnv } from './conversation-env.js';
import type { ConversationKind, ConversationSettings, SettingsChange } from './conversation-settings.js';
import { ConversationState } from './conversation-state.js';
import type { Member, PendingCommit, ProcessOutcome, RosterEvent } from './conversation-types.js';
import type { DeviceAddress } from './credential.js';
import { processIncoming } from './incoming.js';
import { takeOverdue, type MissingMessages } from './missing-messages.js';
import {
  confirmCommit,
  discardCommit,
  prepareAddMembers,
  prepareAddOwnDevices,
  prepareRemoveDevices,
  prepareRemoveMembers,
  prepareSelfUpdate,
  prepareUpdateSettings,
} from './outgoing-commit.js';
import { encryptMessage, proposeLeave } from './outgoing-message.js';
import { leavesOf, rosterOf } from './roster.js';

export { MLS_STATE_FORMAT } from './conversation-state.js';
export type { ConversationKind, ConversationSettings, SettingsChange } from './conversation-settings.js';
export type { Member, PendingCommit, ProcessOutcome, RosterEvent } from './conversation-types.js';

/**
 * One conversation of this device. Every method that changes the conversation saves it
 * (`env.persist`) before it returns, and passes through whatever the store throws; the
 * ProtocolError codes below are the conversation's own.
 */
export class Conversation {
  private constructor(private readonly current: ConversationState) {}

  // --- construction and persistence ---------------------------------------------------

  /**
   * Wraps the MLS state of a group just created or joined (ProtocolClient does both) and
   * saves it. The conversation starts tracking forks and missing messages at this epoch.
   */
  static async fromNewState(
    env: ConversationEnv,
    state: ClientState,
    kind: ConversationKind,
  ): Promise<Conversation> {
    return new Conversation(await ConversationState.create(env, state, kind));
  }

  /**
   * Restores a conversation saved by `record()`. A commit that was pending is restored with
   * it, unless it was prepared without the update path it needs (then it is dropped).
   * @throws {@link ProtocolError} `malformed`: not a conversation record, or state saved by
   *   another ts-mls release (see MLS_STATE_FORMAT).
   */
  static async load(env: ConversationEnv, record: Uint8Array): Promise<Conversation> {
    return new Conversation(ConversationState.decode(env, record));
  }

  /** The saved form: MLS state (with private keys: stores encrypt it at rest) and metadata. */
  record(): Uint8Array {
    return this.current.encode();
  }

  // --- what a member can see ------------------------------------------------------------

  /** The MLS state of the current epoch (attack tests read it to play a malicious member). */
  private get state(): ClientState {
    return this.current.mls;
  }

  get groupId(): Uint8Array {
    return this.state.groupContext.groupId;
  }

  get kind(): ConversationKind {
    return this.current.kind;
  }

  /**
   * Kind, admins and disappearing timer, from the MLS group context of the current epoch:
   * changed only by commits, the same for every member in the same epoch, and what a joiner
   * reads from its Welcome.
   */
  get settings(): ConversationSettings {
    return this.current.settings;
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  get cipherSuite(): number {
    return this.state.groupContext.cipherSuite;
  }

  /**
   * Accounts and their devices in the conversation, from the ratchet tree.
   * @throws {@link ProtocolError} `unknown-credential`: a leaf with a foreign credential (a
   *   bug: the authentication service admits none).
   */
  get members(): Member[] {
    return rosterOf(this.state.ratchetTree);
  }

  /**
   * Every device (mailbox) on the roster; the server's routing list must equal this set.
   * @throws {@link ProtocolError} `unknown-credential`: as for `members`.
   */
  get devices(): DeviceAddress[] {
    return leavesOf(this.state.ratchetTree).map((l) => l.address);
  }

  get active(): boolean {
    return this.state.groupActiveState.kind === 'active' && !this.current.meta.broken;
  }

  /** True after an invalid commit: the members must start a group reset. */
  get broken(): boolean {
    return this.current.meta.broken;
  }

  /** The commit that broke the conversation, as far as it could be read: who made it, whom it removed. */
  get refusedCommit():
    { readonly committer?: DeviceAddress; readonly removed: readonly DeviceAddress[] } | undefined {
    return this.current.meta.refused;
  }

  /** The commit prepared and not yet confirmed or discarded, to send (or resend) as it is. */
  get pendingCommit(): PendingCommit | undefined {
    return this.current.pendingCommit;
  }

  /**
   * A short code derived from the epoch authenticator. Members who compare it out of band and
   * see the same digits share the same history up to this epoch.
   */
  async groupCode(): Promise<string> {
    const digest = await sha256(
      utf8('ghostproof-group-code-v1\0'),
      this.state.keySchedule.epochAuthenticator,
    );
    let value = 0n;
    for (const byte of digest.subarray(0, 8)) value = (value << 8n) | BigInt(byte);
    const digits = (value % 10n ** 12n).toString().padStart(12, '0');
    return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
  }

  /**
   * Messages of a sender that never arrived (a skipped generation not filled within
   * MISSING_AFTER_MS, or the unreceived tail of an earlier epoch as the sender stated it).
   * Each is returned once.
   */
  takeMissingMessages(): Promise<readonly MissingMessages[]> {
    return this.exclusive(async () => {
      const overdue = takeOverdue(this.current.missingRecord, this.current.env.clock());
      if (overdue.length > 0) await this.current.save();
      return overdue;
    });
  }

  /** Skipped-message keys currently held (for the out-of-order bound). */
  skippedKeyCount(): number {
    let count = 0;
    for (const leaf of Object.values(this.state.secretTree.leafNodes)) {
      count += Object.keys(leaf.application.unusedGenerations).length;
      count += Object.keys(leaf.handshake.unusedGenerations).length;
    }
    return count;
  }

  // --- one operation at a time ----------------------------------------------------------
  // Every operation reads the MLS state and replaces it. Two at once would start from the
  // same state: two messages under one key and nonce, or a commit lost. Each public
  // operation below runs its handler through `exclusive`, and they queue here.

  private queue: Promise<unknown> = Promise.resolve();

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // --- sending --------------------------------------------------------------------------

  /**
   * Encrypts one content message for the members of the current epoch. It carries the epoch
   * tag, the timer in effect (`expiresInSeconds`, by default the conversation's) and
   * `messageId` (a fresh random id by default).
   * @returns The MLSMessage bytes to send, and the message id.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `too-large`: the content exceeds the application message limit.
   */
  encrypt(
    body: Content['body'],
    options: { messageId?: Uint8Array; ktCheckpoint?: string; expiresInSeconds?: number } = {},
  ): Promise<{ message: Uint8Array; messageId: Uint8Array }> {
    return this.exclusive(() => encryptMessage(this.current, body, options));
  }

  /**
   * Prepares a commit adding accounts: one claimed key package per device of each account's
   * verified device list (a map from device id to MLSMessage(KeyPackage) bytes). Every package
   * is checked before any commit is made; devices without a package are returned in
   * `missing`, never skipped silently, and no commit is made for them unless `allowMissing`.
   * @returns The pending commit (undefined when none was made) and the devices without a package.
   * @throws {@link ProtocolError} `not-allowed`: an account is already a member, or a commit is
   *   already pending.
   * @throws {@link ProtocolError} `unknown-credential`: no verified device list for an account.
   * @throws {@link ProtocolError} `directory-unavailable`: the directory cannot answer now.
   * @throws {@link ProtocolError} `invalid-key-package` or `too-large`: a key package that does not
   *   match its device.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `invalid-commit`: the conversation is broken and needs a reset.
   */
  prepareAddMembers(
    additions: readonly { username: string; keyPackages: ReadonlyMap<number, Uint8Array> }[],
    options: { allowMissing?: boolean } = {},
  ): Promise<{ pending: PendingCommit | undefined; missing: DeviceAddress[] }> {
    return this.exclusive(() => prepareAddMembers(this.current, additions, options));
  }

  /**
   * Prepares a commit adding the devices of this device's own account that its verified
   * device list names and the roster lacks (DESIGN.md: only a device of the same account may
   * add a member's new device), one claimed key package each.
   * @returns The pending commit (undefined when no device had a package) and the devices
   *   without a package.
   * @throws {@link ProtocolError} `unknown-credential`: no verified device list for this account.
   * @throws {@link ProtocolError} `directory-unavailable`: the directory cannot answer now.
   * @throws {@link ProtocolError} `invalid-key-package` or `too-large`: a key package that does not
   *   match its device.
   * @throws {@link ProtocolError} `not-allowed`: a commit is already pending.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `invalid-commit`: the conversation is broken and needs a reset.
   */
  prepareAddOwnDevices(
    keyPackages: ReadonlyMap<number, Uint8Array>,
  ): Promise<{ pending: PendingCommit | undefined; missing: DeviceAddress[] }> {
    return this.exclusive(() => prepareAddOwnDevices(this.current, keyPackages));
  }

  /**
   * Prepares a commit removing accounts: every device of each.
   * @returns The pending commit; its routing list names every removed mailbox.
   * @throws {@link ProtocolError} `not-allowed`: this device's own account is named (leave
   *   instead), none of the accounts is a member, or a commit is already pending.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `invalid-commit`: the conversation is broken and needs a reset.
   */
  prepareRemoveMembers(usernames: readonly string[]): Promise<PendingCommit> {
    return this.exclusive(() => prepareRemoveMembers(this.current, usernames));
  }

  /**
   * Prepares a commit removing single devices (e.g. of this account after unlinking one).
   * @returns The pending commit.
   * @throws {@link ProtocolError} `not-allowed`: this device is named (leave instead), a device
   *   is not on the roster, or a commit is already pending.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `invalid-commit`: the conversation is broken and needs a reset.
   */
  prepareRemoveDevices(addresses: readonly DeviceAddress[]): Promise<PendingCommit> {
    return this.exclusive(() => prepareRemoveDevices(this.current, addresses));
  }

  /**
   * Prepares a commit with a fresh update path and nothing else: forward secrecy and
   * post-compromise security. It also applies pending leave proposals.
   * @returns The pending commit.
   * @throws {@link ProtocolError} `not-allowed`: a commit is already pending.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `invalid-commit`: the conversation is broken and needs a reset.
   */
  prepareSelfUpdate(): Promise<PendingCommit> {
    return this.exclusive(() => prepareSelfUpdate(this.current));
  }

  /**
   * Prepares a commit changing the admins and/or the disappearing timer. It is refused here,
   * before any commit exists, when the members would refuse it (a refused commit breaks the
   * group). In a group without an admin list yet, this first settings commit names this
   * device's account as admin unless `change.admins` says more.
   * @returns The pending commit; its events say what changed.
   * @throws {@link ProtocolError} `not-allowed`: the members would refuse the change (e.g. this
   *   account is not an admin), or a commit is already pending.
   * @throws {@link ProtocolError} `malformed` or `too-large`: an admin name that is not a valid
   *   username, too many admins, or a timer out of range.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   * @throws {@link ProtocolError} `invalid-commit`: the conversation is broken and needs a reset.
   */
  prepareUpdateSettings(change: SettingsChange): Promise<PendingCommit> {
    return this.exclusive(() => prepareUpdateSettings(this.current, change));
  }

  /**
   * Leaving: a proposal to remove this device's own leaf, which the next committer includes.
   * Each of an account's devices leaves on its own.
   * @returns The MLSMessage bytes to send.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation.
   */
  proposeLeave(): Promise<Uint8Array> {
    return this.exclusive(() => proposeLeave(this.current));
  }

  /**
   * The server accepted the pending commit `id`: moves to the new epoch, and zeroes the path
   * keys the commit replaced.
   * @returns What the commit did, as every member derives it.
   * @throws {@link ProtocolError} `not-allowed`: no pending commit has this id.
   */
  confirm(id: string): Promise<readonly RosterEvent[]> {
    return this.exclusive(() => confirmCommit(this.current, id));
  }

  /**
   * The server answered stale-epoch (or the commit is abandoned): drops pending commit `id`
   * and keeps the epoch. A no-op when it is no longer pending: the winning commit may have
   * been processed first, and processing it dropped ours. Throws nothing of its own.
   */
  discard(id: string): Promise<void> {
    return this.exclusive(() => discardCommit(this.current, id));
  }

  // --- receiving ------------------------------------------------------------------------

  /**
   * Processes one MLSMessage from the server: an application message, a leave proposal or a
   * commit. A message that fails leaves the saved state as it was, except a commit this
   * member refuses (the conversation is marked broken) and a message that shows a fork (it
   * is consumed, as a message that was read).
   * @returns The message and its sender, the commit's events, the proposal, or `duplicate`
   *   for a redelivery.
   * @throws {@link ProtocolError} `too-large`: beyond the handshake or application size limit.
   * @throws {@link ProtocolError} `public-message-refused`: a handshake not encrypted.
   * @throws {@link ProtocolError} `malformed`: not a message of this conversation, or content
   *   that does not decode.
   * @throws {@link ProtocolError} `tampered`: a message that fails authentication.
   * @throws {@link ProtocolError} `replay`: a message key already used, or keys already gone.
   * @throws {@link ProtocolError} `too-far-ahead`: beyond the forward limit of its sender's chain.
   * @throws {@link ProtocolError} `gap`: from an epoch this member has not reached.
   * @throws {@link ProtocolError} `fork`: a different commit for an epoch already processed, or
   *   a member showing a different history.
   * @throws {@link ProtocolError} `invalid-commit`: a commit this member refuses (the
   *   conversation is now broken).
   * @throws {@link ProtocolError} `not-allowed`: a proposal other than a member leaving.
   * @throws {@link ProtocolError} `not-a-member`: this device is no longer in the conversation,
   *   or the conversation is broken.
   * @throws {@link ProtocolError} `unknown-credential`: a credential that does not match its
   *   account's verified device list.
   * @throws {@link ProtocolError} `directory-unavailable`: the directory cannot answer now;
   *   nothing was decided, process the message again later.
   */
  process(bytes: Uint8Array): Promise<ProcessOutcome> {
    return this.exclusive(() => processIncoming(this.current, bytes));
  }
}
