// A conversation is one MLS group. This wrapper is the only place that drives ts-mls for
// conversations; only encoded bytes cross its boundary. It derives the roster and every
// "X added Y" event from the commits it processes (never from server notices), raises the
// alarms of DESIGN.md (invalid-commit, fork, gap), refuses PublicMessage handshakes, and
// follows the commit lifecycle: prepare → send → confirm (accepted) or discard (stale-epoch).
import { ByteReader, ByteWriter, type DeviceList } from '@ghostproof/api';
import { constantTimeEqual, createPlatformPrimitives, forgetSecretKeys } from '@ghostproof/crypto';
import {
  clientStateDecoder,
  clientStateEncoder,
  contentTypes,
  createApplicationMessage,
  createCommit,
  createProposal,
  decode,
  defaultProposalTypes,
  encode,
  makeCustomExtension,
  mlsMessageDecoder,
  mlsMessageEncoder,
  nodeTypes,
  processMessage,
  unsafeTestingAuthenticationService,
  ValidationError,
  wireformats,
  type ClientState,
  type CiphersuiteImpl,
  type GroupContextExtension,
  type IncomingMessageAction,
  type IncomingMessageCallback,
  type KeyPackage,
  type MlsContext,
  type PrivateMessage,
  type Proposal,
  type RatchetTree,
} from 'ts-mls';
import {
  create,
  decodeContent,
  encodeContent,
  newMessageId,
  ContentSchema,
  type Content,
} from './content.js';
import { addressKey, credentialAddress, sameAddress, type DeviceAddress } from './credential.js';
import type { DeviceDirectory } from './directory.js';
import { createAuthenticationService } from './auth-service.js';
import { ProtocolError } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import { CONVERSATION_EXTENSION, verifyClaimedKeyPackage } from './key-packages.js';
import {
  applySettingsChange,
  decodeSettings,
  encodeSettings,
  settingsChangeViolation,
  type ConversationKind,
  type ConversationSettings,
  type SettingsChange,
} from './conversation-settings.js';
import { clientConfigFor, type ProtocolLimits } from './limits.js';
import {
  newMissingMessagesRecord,
  noteReceived,
  noteSent,
  noteStatement,
  previousEpochStatement,
  takeOverdue,
  type MissingMessages,
  type MissingMessagesRecord,
} from './missing-messages.js';
import { readSenderData } from './sender-data.js';

/** The ts-mls release whose saved state this code reads; states of other releases are refused. */
export const MLS_STATE_FORMAT = 'ts-mls 2.0.0-rc.10';
const RECORD_MAGIC = 0x47504331; // "GPC1"

export type { ConversationKind, ConversationSettings, SettingsChange } from './conversation-settings.js';

export type RosterEvent =
  | {
      readonly kind: 'member-added';
      readonly by: DeviceAddress;
      readonly username: string;
      readonly deviceIds: number[];
    }
  | {
      readonly kind: 'device-added';
      readonly by: DeviceAddress;
      readonly username: string;
      readonly deviceId: number;
    }
  | { readonly kind: 'member-removed'; readonly by: DeviceAddress; readonly username: string }
  | { readonly kind: 'member-left'; readonly username: string }
  | {
      readonly kind: 'device-removed';
      readonly by: DeviceAddress;
      readonly username: string;
      readonly deviceId: number;
    }
  | { readonly kind: 'you-were-removed'; readonly by: DeviceAddress }
  /** This device's own leave, committed by `by`. */
  | { readonly kind: 'you-left'; readonly by: DeviceAddress }
  /** A settings commit: each field is present only when that setting changed. */
  | {
      readonly kind: 'settings-changed';
      readonly by: DeviceAddress;
      readonly admins?: readonly string[];
      readonly disappearingSeconds?: number;
    };

export interface Member {
  readonly username: string;
  readonly deviceIds: readonly number[];
}

export interface PendingCommit {
  /** Client-chosen id; the same bytes are resent under it until accepted or stale. */
  readonly id: string;
  /** The epoch the commit is for (the server's compare-and-set value). */
  readonly epoch: bigint;
  readonly commit: Uint8Array;
  readonly welcome: Uint8Array | undefined;
  /** Mailboxes the server must add to and remove from the routing list with this commit. */
  readonly routing: { readonly add: readonly DeviceAddress[]; readonly remove: readonly DeviceAddress[] };
  /** What the commit does, as every member will derive it. */
  readonly events: readonly RosterEvent[];
}

export type ProcessOutcome =
  | {
      readonly kind: 'message';
      readonly sender: DeviceAddress;
      readonly content: Content;
      readonly epoch: bigint;
    }
  | { readonly kind: 'commit'; readonly epoch: bigint; readonly events: readonly RosterEvent[] }
  | { readonly kind: 'proposal'; readonly from: DeviceAddress; readonly leave: boolean }
  /** The same message or commit again (a redelivery): nothing changed. */
  | { readonly kind: 'duplicate' };

export interface ConversationEnv {
  readonly self: DeviceIdentity;
  readonly directory: DeviceDirectory;
  readonly cipherSuite: CiphersuiteImpl;
  readonly limits: ProtocolLimits;
  readonly clock: () => number;
  readonly persist: (groupId: Uint8Array, record: Uint8Array) => Promise<void>;
  /** Test-only: accept every credential, to show what the checks prevent. Never set in products. */
  readonly unsafeTestingAcceptAllCredentials?: boolean;
  /** Test-only: no fork or gap alarm (see ProtocolClientOptions). Never set in products. */
  readonly unsafeTestingIgnoreForksAndGaps?: boolean;
}

export function authServiceFor(
  env: Pick<ConversationEnv, 'directory' | 'unsafeTestingAcceptAllCredentials'>,
) {
  return env.unsafeTestingAcceptAllCredentials
    ? unsafeTestingAuthenticationService
    : createAuthenticationService(env.directory);
}

interface Metadata {
  kind: ConversationKind;
  /** Epoch → hex SHA-256 of the commit that ended it. */
  commits: [string, string][];
  /** Epoch → hex epoch tag (hash of the epoch authenticator). */
  epochTags: [string, string][];
  seenMessageIds: string[];
  broken: boolean;
  /**
   * The sequenced commit this member refused (when it broke the conversation): who made it
   * and whom it removed, as its signed proposals say. A reset honours the removals and is
   * not left to the committer.
   */
  refused?: { committer?: DeviceAddress; removed: DeviceAddress[] };
  /** Generations not received, and what this device told about its own sending. */
  missing?: MissingMessagesRecord;
  pending?: {
    id: string;
    epoch: string;
    routing: PendingCommit['routing'];
    events: RosterEvent[];
  };
}

interface PendingState {
  readonly meta: NonNullable<Metadata['pending']>;
  readonly commit: Uint8Array;
  readonly welcome: Uint8Array | undefined;
  readonly newState: ClientState;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const utf8 = (s: string) => new TextEncoder().encode(s);

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const platform = await createPlatformPrimitives();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    joined.set(p, offset);
    offset += p.length;
  }
  return platform.digest('SHA-256', joined);
}

/**
 * Forward secrecy in memory, once `next` has replaced `previous` for good (a commit merged):
 * ts-mls drops the path private keys the commit replaced but does not zero them, and the
 * crypto back end keeps a parsed key per key array it decapsulated with. Every path key of
 * `previous` that `next` does not hold is evicted from those caches and zeroed. Zeroing is
 * safe because a state's private-path arrays are its own: ts-mls derives path keys into
 * fresh arrays (exportPrivateKey copies), `load` decodes from its own copy of the record, and
 * a join decodes its own copy of the key package (client.ts). The signature key is the
 * device's, shared by every conversation, and stays.
 */
function retireReplacedPathKeys(previous: ClientState, next: ClientState): void {
  const kept = new Set(Object.values(next.privatePath.privateKeys));
  const retired = Object.values(previous.privatePath.privateKeys).filter((key) => !kept.has(key));
  forgetSecretKeys(retired);
  for (const key of retired) key.fill(0);
}

/** Every non-blank leaf of a ratchet tree with the device its credential names. */
function leavesOf(
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

function rosterOf(tree: RatchetTree): Member[] {
  const byUser = new Map<string, number[]>();
  for (const { address } of leavesOf(tree)) {
    byUser.set(address.username, [...(byUser.get(address.username) ?? []), address.deviceId]);
  }
  return [...byUser].map(([username, ids]) => ({ username, deviceIds: ids.sort((a, b) => a - b) }));
}

/** Roster changes between two trees, attributed to the committer. */
function diffRoster(
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
function leaversOf(
  tree: RatchetTree,
  proposals: readonly { proposal: Proposal; senderLeafIndex: number | undefined }[],
): Set<string> {
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

/**
 * Whether a pending commit was made without an update path although RFC 9420 requires one
 * (it covers more than Adds: a remove, a leave, or nothing at all). A commit with a path
 * replaces the committer's own leaf (a new encryption key); one without leaves it as it was.
 */
function lacksRequiredPath(before: ClientState, after: ClientState, events: readonly RosterEvent[]): boolean {
  const addsOnly =
    events.length > 0 && events.every((e) => e.kind === 'member-added' || e.kind === 'device-added');
  if (addsOnly) return false;
  const node = before.privatePath.leafIndex * 2;
  const old = before.ratchetTree[node];
  const now = after.ratchetTree[node];
  if (old?.nodeType !== nodeTypes.leaf || now?.nodeType !== nodeTypes.leaf) return true;
  return constantTimeEqual(old.leaf.hpkePublicKey, now.leaf.hpkePublicKey);
}

/**
 * The conversation settings a group context holds (docs/protocol.md, "Conversation
 * settings"). A group context without Ghostproof's extension (not made by this code) has no
 * admins and no timer.
 */
function settingsOf(
  extensions: readonly GroupContextExtension[],
  fallbackKind: ConversationKind,
): ConversationSettings {
  const extension = extensions.find((e) => e.extensionType === CONVERSATION_EXTENSION);
  const data = extension && 'extensionData' in extension ? extension.extensionData : undefined;
  if (!(data instanceof Uint8Array)) return { kind: fallbackKind, admins: [], disappearingSeconds: 0 };
  return decodeSettings(data);
}

/** The conversation settings extension, alone: the only group context Ghostproof makes. */
function settingsExtensionData(extensions: readonly GroupContextExtension[]): Uint8Array | undefined {
  const only = extensions.length === 1 ? extensions[0] : undefined;
  if (!only || only.extensionType !== CONVERSATION_EXTENSION || !('extensionData' in only)) return undefined;
  return only.extensionData instanceof Uint8Array ? only.extensionData : undefined;
}

/** What a settings commit changed, attributed to its committer (no event when nothing did). */
function settingsEvents(
  before: ConversationSettings,
  after: ConversationSettings,
  by: DeviceAddress,
): RosterEvent[] {
  const adminsChanged =
    before.admins.length !== after.admins.length || before.admins.some((a, i) => a !== after.admins[i]);
  const timerChanged = before.disappearingSeconds !== after.disappearingSeconds;
  if (!adminsChanged && !timerChanged) return [];
  return [
    {
      kind: 'settings-changed',
      by,
      ...(adminsChanged ? { admins: [...after.admins] } : {}),
      ...(timerChanged ? { disappearingSeconds: after.disappearingSeconds } : {}),
    },
  ];
}

/**
 * Maps a ts-mls failure to the one error a caller sees; nothing here echoes input. ts-mls
 * passes our own errors through unwrapped (a directory that cannot answer now stays
 * `directory-unavailable`, never a verdict on the commit); its own errors are told apart by
 * their types, and a refused application message by what its sender data says (see
 * `classifyApplicationFailure`), never by message text.
 */
function classifyMlsFailure(err: unknown, handshake: boolean): ProtocolError {
  if (err instanceof ProtocolError) return err;
  if (handshake) return new ProtocolError('invalid-commit', 'commit cannot be processed', { cause: err });
  return new ProtocolError('tampered', 'message failed authentication', { cause: err });
}

/** The proposal types a Ghostproof commit may cover: anything else is refused. */
const USED_PROPOSAL_TYPES: ReadonlySet<number> = new Set([
  defaultProposalTypes.add,
  defaultProposalTypes.remove,
  defaultProposalTypes.group_context_extensions,
]);

export class Conversation {
  private pending: PendingState | undefined;

  private constructor(
    private readonly env: ConversationEnv,
    private state: ClientState,
    private meta: Metadata,
  ) {}

  // --- construction and persistence ---------------------------------------------------

  static async fromNewState(
    env: ConversationEnv,
    state: ClientState,
    kind: ConversationKind,
  ): Promise<Conversation> {
    const conversation = new Conversation(env, state, {
      kind,
      commits: [],
      epochTags: [],
      seenMessageIds: [],
      broken: false,
      missing: newMissingMessagesRecord(state.groupContext.epoch),
    });
    await conversation.rememberEpochTag();
    await conversation.save();
    return conversation;
  }

  /** Restores a conversation saved by `record()`; refuses state of another ts-mls release. */
  static async load(env: ConversationEnv, record: Uint8Array): Promise<Conversation> {
    let reader: ByteReader;
    try {
      reader = new ByteReader(record, 'conversation record');
      if (reader.u32() !== RECORD_MAGIC)
        throw new ProtocolError('malformed', 'conversation record: not ours');
      const format = new TextDecoder().decode(reader.bytes(reader.u16()));
      if (format !== MLS_STATE_FORMAT) {
        throw new ProtocolError('malformed', 'conversation record: saved by another MLS library release');
      }
      const meta = JSON.parse(new TextDecoder().decode(reader.bytes(reader.u32()))) as Metadata;
      const state = decode(clientStateDecoder, reader.bytes(reader.u32()));
      if (!state) throw new ProtocolError('malformed', 'conversation record: bad state');
      // Records saved before missing messages were tracked start tracking now.
      meta.missing ??= newMissingMessagesRecord(state.groupContext.epoch);
      const conversation = new Conversation(env, state, meta);
      const pendingState = reader.bytes(reader.u32());
      const commit = reader.bytes(reader.u32());
      const welcome = reader.bytes(reader.u32());
      reader.end();
      if (meta.pending) {
        const newState = decode(clientStateDecoder, pendingState);
        if (!newState) throw new ProtocolError('malformed', 'conversation record: bad pending state');
        // A commit prepared before the ts-mls patch may lack the update path it needs: it is
        // dropped, never resent (docs/protocol.md, "The ts-mls patch"); the caller prepares
        // again. It is forgotten on the next save.
        if (!lacksRequiredPath(state, newState, meta.pending.events)) {
          conversation.pending = {
            meta: meta.pending,
            commit,
            welcome: welcome.length > 0 ? welcome : undefined,
            newState,
          };
        }
      }
      return conversation;
    } catch (cause) {
      if (cause instanceof ProtocolError) throw cause;
      throw new ProtocolError('malformed', 'conversation record: cannot decode', { cause });
    }
  }

  /** The saved form: MLS state (with private keys: stores encrypt it at rest) and metadata. */
  record(): Uint8Array {
    const meta = JSON.stringify({ ...this.meta, pending: this.pending?.meta });
    const writer = new ByteWriter().u32(RECORD_MAGIC);
    const format = utf8(MLS_STATE_FORMAT);
    writer.u16(format.length).bytes(format);
    const metaBytes = utf8(meta);
    writer.u32(metaBytes.length).bytes(metaBytes);
    const state = encode(clientStateEncoder, this.state);
    writer.u32(state.length).bytes(state);
    const pendingState = this.pending ? encode(clientStateEncoder, this.pending.newState) : new Uint8Array(0);
    writer.u32(pendingState.length).bytes(pendingState);
    const commit = this.pending?.commit ?? new Uint8Array(0);
    writer.u32(commit.length).bytes(commit);
    const welcome = this.pending?.welcome ?? new Uint8Array(0);
    writer.u32(welcome.length).bytes(welcome);
    return writer.finish();
  }

  private async save(): Promise<void> {
    await this.env.persist(this.groupId, this.record());
  }

  // --- what a member can see ------------------------------------------------------------

  /** This device's address, without its keys (events and errors must never carry keys). */
  private get selfAddress(): DeviceAddress {
    return { username: this.env.self.username, deviceId: this.env.self.deviceId };
  }

  get groupId(): Uint8Array {
    return this.state.groupContext.groupId;
  }

  get kind(): ConversationKind {
    return this.meta.kind;
  }

  /**
   * Kind, admins and disappearing timer, from the MLS group context of the current epoch:
   * changed only by commits, the same for every member in the same epoch, and what a joiner
   * reads from its Welcome.
   */
  get settings(): ConversationSettings {
    return settingsOf(this.state.groupContext.extensions, this.meta.kind);
  }

  get epoch(): bigint {
    return this.state.groupContext.epoch;
  }

  get cipherSuite(): number {
    return this.state.groupContext.cipherSuite;
  }

  /** Accounts and their devices in the conversation, from the ratchet tree. */
  get members(): Member[] {
    return rosterOf(this.state.ratchetTree);
  }

  /** Every device (mailbox) on the roster; the server's routing list must equal this set. */
  get devices(): DeviceAddress[] {
    return leavesOf(this.state.ratchetTree).map((l) => l.address);
  }

  get active(): boolean {
    return this.state.groupActiveState.kind === 'active' && !this.meta.broken;
  }

  /** True after an invalid commit: the members must start a group reset. */
  get broken(): boolean {
    return this.meta.broken;
  }

  /** The commit that broke the conversation, as far as it could be read (see Metadata.refused). */
  get refusedCommit():
    { readonly committer?: DeviceAddress; readonly removed: readonly DeviceAddress[] } | undefined {
    return this.meta.refused;
  }

  get pendingCommit(): PendingCommit | undefined {
    const p = this.pending;
    if (!p) return undefined;
    return {
      id: p.meta.id,
      epoch: BigInt(p.meta.epoch),
      commit: p.commit,
      welcome: p.welcome,
      routing: p.meta.routing,
      events: p.meta.events,
    };
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

  private get missingRecord(): MissingMessagesRecord {
    this.meta.missing ??= newMissingMessagesRecord(this.epoch);
    return this.meta.missing;
  }

  /**
   * Messages of a sender that never arrived (a skipped generation not filled within
   * MISSING_AFTER_MS, or the unreceived tail of an earlier epoch as the sender stated it).
   * Each is returned once.
   */
  takeMissingMessages(): Promise<readonly MissingMessages[]> {
    return this.exclusive(async () => {
      const overdue = takeOverdue(this.missingRecord, this.env.clock());
      if (overdue.length > 0) await this.save();
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
  // same state: two messages under one key and nonce, or a commit lost. They queue here.

  private queue: Promise<unknown> = Promise.resolve();

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Encrypts one content message; returns the MLSMessage bytes and the message id. */
  encrypt(
    body: Content['body'],
    options: { messageId?: Uint8Array; ktCheckpoint?: string; expiresInSeconds?: number } = {},
  ): Promise<{ message: Uint8Array; messageId: Uint8Array }> {
    return this.exclusive(() => this.encryptNow(body, options));
  }

  /** See prepareAddMembersNow. */
  prepareAddMembers(
    additions: readonly { username: string; keyPackages: ReadonlyMap<number, Uint8Array> }[],
    options: { allowMissing?: boolean } = {},
  ): Promise<{ pending: PendingCommit | undefined; missing: DeviceAddress[] }> {
    return this.exclusive(() => this.prepareAddMembersNow(additions, options));
  }

  /** See prepareAddOwnDevicesNow. */
  prepareAddOwnDevices(
    keyPackages: ReadonlyMap<number, Uint8Array>,
  ): Promise<{ pending: PendingCommit | undefined; missing: DeviceAddress[] }> {
    return this.exclusive(() => this.prepareAddOwnDevicesNow(keyPackages));
  }

  /** Removes accounts: every device of each. */
  prepareRemoveMembers(usernames: readonly string[]): Promise<PendingCommit> {
    return this.exclusive(() => this.prepareRemoveMembersNow(usernames));
  }

  /** Removes single devices (e.g. of this account after unlinking one). */
  prepareRemoveDevices(addresses: readonly DeviceAddress[]): Promise<PendingCommit> {
    return this.exclusive(() => this.prepareRemoveDevicesNow(addresses));
  }

  /** A commit with a fresh update path: forward secrecy and post-compromise security. */
  prepareSelfUpdate(): Promise<PendingCommit> {
    return this.exclusive(() => this.prepareSelfUpdateNow());
  }

  /** Changes admins and/or the disappearing timer by a commit: see prepareUpdateSettingsNow. */
  prepareUpdateSettings(change: SettingsChange): Promise<PendingCommit> {
    return this.exclusive(() => this.prepareUpdateSettingsNow(change));
  }

  /** Leaving: see proposeLeaveNow. */
  proposeLeave(): Promise<Uint8Array> {
    return this.exclusive(() => this.proposeLeaveNow());
  }

  /** The server accepted the pending commit: move to the new epoch. */
  confirm(id: string): Promise<readonly RosterEvent[]> {
    return this.exclusive(() => this.confirmNow(id));
  }

  /** The server answered stale-epoch (or the commit is abandoned): drop it, keep the epoch. */
  discard(id: string): Promise<void> {
    return this.exclusive(() => this.discardNow(id));
  }

  /** Processes one MLSMessage from the server: see processNow. */
  process(bytes: Uint8Array): Promise<ProcessOutcome> {
    return this.exclusive(() => this.processNow(bytes));
  }

  // --- sending --------------------------------------------------------------------------

  private context(): MlsContext {
    return {
      cipherSuite: this.env.cipherSuite,
      authService: authServiceFor(this.env),
      clientConfig: clientConfigFor(this.env.limits),
    };
  }

  private requireActive(): void {
    if (this.state.groupActiveState.kind !== 'active')
      throw new ProtocolError('not-a-member', 'not in the conversation');
  }

  private async epochTag(): Promise<Uint8Array> {
    const digest = await sha256(utf8('ghostproof-epoch-tag-v1\0'), this.state.keySchedule.epochAuthenticator);
    return digest.slice(0, 16);
  }

  private async rememberEpochTag(): Promise<void> {
    const tag = hex(await this.epochTag());
    const epoch = this.epoch.toString();
    this.meta.epochTags = [
      ...this.meta.epochTags.filter(([e]) => e !== epoch),
      [epoch, tag] as [string, string],
    ].slice(-(this.env.limits.retainEpochs + 1));
  }

  /** Encrypts one content message; returns the MLSMessage bytes and the message id. */
  private async encryptNow(
    body: Content['body'],
    options: { messageId?: Uint8Array; ktCheckpoint?: string; expiresInSeconds?: number } = {},
  ): Promise<{ message: Uint8Array; messageId: Uint8Array }> {
    this.requireActive();
    const messageId = options.messageId ?? newMessageId();
    const missing = this.missingRecord;
    const previousEpoch = previousEpochStatement(missing, this.epoch);
    const content = create(ContentSchema, {
      messageId,
      sentAt: BigInt(this.env.clock()),
      epochTag: await this.epochTag(),
      ktCheckpoint: options.ktCheckpoint ?? '',
      ...(previousEpoch ? { previousEpoch } : {}),
      // The sender's timer in effect travels in every message (docs/protocol.md, "Content").
      expiresInSeconds: options.expiresInSeconds ?? this.settings.disappearingSeconds,
      body,
    });
    const padded = encodeContent(content, this.env.limits.maxApplicationPlaintext);
    const { newState, message } = await createApplicationMessage({
      context: this.context(),
      state: this.state,
      message: padded,
    });
    this.state = newState;
    noteSent(missing, this.epoch);
    await this.save();
    return { message: encode(mlsMessageEncoder, message), messageId };
  }

  private async prepare(proposals: Proposal[], routing: PendingCommit['routing']): Promise<PendingCommit> {
    this.requireActive();
    if (this.meta.broken) throw new ProtocolError('invalid-commit', 'conversation needs a reset');
    if (this.pending) throw new ProtocolError('not-allowed', 'a commit is already pending');
    const before = this.state.ratchetTree;
    const leaving = leaversOf(before, Object.values(this.state.unappliedProposals));
    // A commit also applies pending leave proposals: the server must stop delivering to
    // those devices too, or every member sees a routing list with a mailbox off the roster.
    const leavers = leavesOf(before)
      .map((l) => l.address)
      .filter((a) => leaving.has(addressKey(a)) && !routing.remove.some((r) => sameAddress(r, a)));
    if (leavers.length > 0) routing = { add: routing.add, remove: [...routing.remove, ...leavers] };
    const { newState, commit, welcome } = await createCommit({
      context: this.context(),
      state: this.state,
      extraProposals: proposals,
      ratchetTreeExtension: true,
    });
    const events = [
      ...diffRoster(before, newState.ratchetTree, this.selfAddress, this.selfAddress, leaving),
      ...settingsEvents(
        this.settings,
        settingsOf(newState.groupContext.extensions, this.kind),
        this.selfAddress,
      ),
    ];
    this.pending = {
      meta: {
        id: hex(crypto.getRandomValues(new Uint8Array(16))),
        epoch: this.epoch.toString(),
        routing,
        events,
      },
      commit: encode(mlsMessageEncoder, commit),
      welcome: welcome ? encode(mlsMessageEncoder, welcome) : undefined,
      newState,
    };
    // Persisted before it is sent, so that a restart resends the same bytes under the same id.
    await this.save();
    return this.pendingCommit!;
  }

  /**
   * Adds accounts: one claimed key package per device of each account's verified device list
   * (a map from device id to MLSMessage(KeyPackage) bytes). Every package is checked before any
   * commit is made; devices without a valid package are returned in `missing`, never skipped
   * silently, and the commit is not made unless `allowMissing` is set.
   */
  private async prepareAddMembersNow(
    additions: readonly { username: string; keyPackages: ReadonlyMap<number, Uint8Array> }[],
    options: { allowMissing?: boolean } = {},
  ): Promise<{ pending: PendingCommit | undefined; missing: DeviceAddress[] }> {
    const present = new Set(this.members.map((m) => m.username));
    const proposals: Proposal[] = [];
    const added: DeviceAddress[] = [];
    const missing: DeviceAddress[] = [];
    for (const { username, keyPackages } of additions) {
      if (present.has(username)) throw new ProtocolError('not-allowed', 'account is already a member');
      const list = await this.env.directory.lookup(username);
      if (!list) throw new ProtocolError('unknown-credential', 'no verified device list for the account');
      for (const keyPackage of await this.verifiedPackages(list, keyPackages, missing)) {
        proposals.push({
          proposalType: defaultProposalTypes.add,
          add: { keyPackage: keyPackage.keyPackage },
        });
        added.push(keyPackage.address);
      }
    }
    if (missing.length > 0 && !options.allowMissing) return { pending: undefined, missing };
    if (proposals.length === 0) return { pending: undefined, missing };
    return { pending: await this.prepare(proposals, { add: added, remove: [] }), missing };
  }

  /**
   * Adds new devices of this member's own account (DESIGN.md: only a device of the same
   * account may add a member's new device).
   */
  private async prepareAddOwnDevicesNow(
    keyPackages: ReadonlyMap<number, Uint8Array>,
  ): Promise<{ pending: PendingCommit | undefined; missing: DeviceAddress[] }> {
    const list = await this.env.directory.lookup(this.env.self.username);
    if (!list) throw new ProtocolError('unknown-credential', 'no verified device list for this account');
    const onRoster = new Set(this.devices.map(addressKey));
    const newDevices = {
      ...list,
      devices: list.devices.filter(
        (d) => !onRoster.has(addressKey({ username: list.username, deviceId: d.id })),
      ),
    };
    const missing: DeviceAddress[] = [];
    const packages = await this.verifiedPackages(newDevices, keyPackages, missing);
    if (packages.length === 0) return { pending: undefined, missing };
    const proposals: Proposal[] = packages.map((p) => ({
      proposalType: defaultProposalTypes.add,
      add: { keyPackage: p.keyPackage },
    }));
    return {
      pending: await this.prepare(proposals, { add: packages.map((p) => p.address), remove: [] }),
      missing,
    };
  }

  private async verifiedPackages(
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
        { username: list.username, device, cipherSuite: this.cipherSuite },
        this.env.clock(),
      );
      out.push({ keyPackage, address });
    }
    return out;
  }

  /** Removes accounts: every device of each. */
  private async prepareRemoveMembersNow(usernames: readonly string[]): Promise<PendingCommit> {
    const targets = new Set(usernames);
    if (targets.has(this.env.self.username))
      throw new ProtocolError('not-allowed', 'use leave to remove yourself');
    const leaves = leavesOf(this.state.ratchetTree).filter((l) => targets.has(l.address.username));
    if (leaves.length === 0) throw new ProtocolError('not-allowed', 'no such member');
    return this.prepare(
      leaves.map((l) => ({ proposalType: defaultProposalTypes.remove, remove: { removed: l.leafIndex } })),
      { add: [], remove: leaves.map((l) => l.address) },
    );
  }

  /** Removes single devices (e.g. of this account after unlinking one). */
  private async prepareRemoveDevicesNow(addresses: readonly DeviceAddress[]): Promise<PendingCommit> {
    const wanted = new Set(addresses.map(addressKey));
    if (wanted.has(addressKey(this.env.self)))
      throw new ProtocolError('not-allowed', 'use leave to remove yourself');
    const leaves = leavesOf(this.state.ratchetTree).filter((l) => wanted.has(addressKey(l.address)));
    if (leaves.length !== wanted.size) throw new ProtocolError('not-allowed', 'no such device');
    return this.prepare(
      leaves.map((l) => ({ proposalType: defaultProposalTypes.remove, remove: { removed: l.leafIndex } })),
      { add: [], remove: leaves.map((l) => l.address) },
    );
  }

  /** A commit with a fresh update path: forward secrecy and post-compromise security. */
  private async prepareSelfUpdateNow(): Promise<PendingCommit> {
    return this.prepare([], { add: [], remove: [] });
  }

  /**
   * A commit that changes the conversation's settings (a GroupContextExtensions proposal with
   * the new settings extension; it carries an update path). Refused here, before any commit
   * exists, when the members would refuse it (see settingsChangeViolation): a commit that
   * members refuse breaks the group. In a group without an admin list yet, this first
   * settings commit names this device's account as admin unless `change.admins` says more.
   */
  private async prepareUpdateSettingsNow(change: SettingsChange): Promise<PendingCommit> {
    this.requireActive();
    const before = this.settings;
    let after = applySettingsChange(before, change);
    if (before.kind === 'group' && before.admins.length === 0 && change.admins === undefined) {
      after = { ...after, admins: [this.env.self.username] };
    }
    const extensions = [
      makeCustomExtension({ extensionType: CONVERSATION_EXTENSION, extensionData: encodeSettings(after) }),
    ];
    const violation = this.settingsProposalViolation(
      extensions,
      this.env.self.username,
      new Set(this.members.map((m) => m.username)),
    );
    if (violation) throw new ProtocolError('not-allowed', `settings: ${violation}`);
    return this.prepare(
      [
        {
          proposalType: defaultProposalTypes.group_context_extensions,
          groupContextExtensions: { extensions },
        },
      ],
      { add: [], remove: [] },
    );
  }

  /**
   * Leaving: a proposal to remove this device's own leaf, which the next committer includes.
   * Returns the MLSMessage to send. (Each of an account's devices leaves on its own.)
   */
  private async proposeLeaveNow(): Promise<Uint8Array> {
    this.requireActive();
    const own = leavesOf(this.state.ratchetTree).find((l) => sameAddress(l.address, this.env.self));
    if (!own) throw new ProtocolError('not-a-member', 'not on the roster');
    const { newState, message } = await createProposal({
      context: this.context(),
      state: this.state,
      proposal: { proposalType: defaultProposalTypes.remove, remove: { removed: own.leafIndex } },
    });
    this.state = newState;
    await this.save();
    return encode(mlsMessageEncoder, message);
  }

  /** The server accepted the pending commit: move to the new epoch. */
  private async confirmNow(id: string): Promise<readonly RosterEvent[]> {
    const pending = this.pending;
    if (!pending || pending.meta.id !== id) throw new ProtocolError('not-allowed', 'no such pending commit');
    await this.rememberCommit(BigInt(pending.meta.epoch), pending.commit);
    const previous = this.state;
    this.state = pending.newState;
    retireReplacedPathKeys(previous, this.state);
    this.pending = undefined;
    await this.rememberEpochTag();
    await this.save();
    return pending.meta.events;
  }

  /**
   * The server answered stale-epoch (or the commit is abandoned): drop it, keep the epoch. A
   * no-op when it is no longer pending: the winning commit may have been processed first, and
   * processing it dropped ours.
   */
  private async discardNow(id: string): Promise<void> {
    if (!this.pending || this.pending.meta.id !== id) return;
    this.pending = undefined;
    await this.save();
  }

  /** Whether `commit` differs from the one this member merged for `epoch`; undefined if none is remembered. */
  private async differsFromMergedCommit(epoch: bigint, commit: Uint8Array): Promise<boolean | undefined> {
    const seen = this.meta.commits.find(([e]) => e === epoch.toString());
    return seen ? seen[1] !== hex(await sha256(commit)) : undefined;
  }

  private async rememberCommit(epoch: bigint, commit: Uint8Array): Promise<void> {
    const digest = hex(await sha256(commit));
    const key = epoch.toString();
    this.meta.commits = [
      ...this.meta.commits.filter(([e]) => e !== key),
      [key, digest] as [string, string],
    ].slice(-this.env.limits.rememberedCommits);
  }

  // --- receiving ------------------------------------------------------------------------

  /**
   * Processes one MLSMessage from the server. Throws ProtocolError with the alarm a user
   * should see (fork, gap, invalid-commit, tampered, replay, ...); the stored state is left
   * unchanged by any message that fails.
   */
  private async processNow(bytes: Uint8Array): Promise<ProcessOutcome> {
    if (bytes.length > this.env.limits.maxHandshakeBytes)
      throw new ProtocolError('too-large', 'message too large');
    const message = decode(mlsMessageDecoder, bytes);
    if (!message) throw new ProtocolError('tampered', 'message failed authentication');
    if (message.wireformat === wireformats.mls_public_message) {
      throw new ProtocolError('public-message-refused', 'handshake messages must be encrypted');
    }
    if (message.wireformat !== wireformats.mls_private_message) {
      throw new ProtocolError('malformed', 'not a conversation message');
    }
    const header = message.privateMessage;
    if (!constantTimeEqual(header.groupId, this.groupId))
      throw new ProtocolError('malformed', 'another conversation');
    // A conversation that could not continue is being replaced: what still arrives for it
    // (later epochs of the commit it refused) is expected, and raises no further alarm.
    if (this.meta.broken) throw new ProtocolError('not-a-member', 'this conversation could not continue');
    const handshake = header.contentType !== contentTypes.application;
    if (handshake && bytes.length > this.env.limits.maxHandshakeBytes) {
      throw new ProtocolError('too-large', 'handshake too large');
    }
    if (!handshake && bytes.length > this.env.limits.maxApplicationPlaintext + 4096) {
      throw new ProtocolError('too-large', 'application message too large');
    }
    const ignoreForksAndGaps = this.env.unsafeTestingIgnoreForksAndGaps === true;
    if (header.epoch > this.epoch) {
      if (ignoreForksAndGaps) return { kind: 'duplicate' };
      throw new ProtocolError('gap', 'message from an epoch this member has not reached');
    }
    if (header.contentType === contentTypes.commit && header.epoch < this.epoch) {
      if ((await this.differsFromMergedCommit(header.epoch, bytes)) && !ignoreForksAndGaps) {
        throw new ProtocolError('fork', 'a different commit for an epoch already processed');
      }
      return { kind: 'duplicate' };
    }
    if (this.state.groupActiveState.kind !== 'active') {
      // A removed member stays in the epoch its removal ended: another commit for that epoch
      // is a fork (the server showed it a removal the others did not see), not silence.
      if (header.contentType === contentTypes.commit && header.epoch === this.epoch && !ignoreForksAndGaps) {
        const differs = await this.differsFromMergedCommit(header.epoch, bytes);
        if (differs)
          throw new ProtocolError('fork', 'a different commit for the epoch that removed this member');
        if (differs === false) return { kind: 'duplicate' };
      }
      throw new ProtocolError('not-a-member', 'not in the conversation');
    }

    const before = this.state;
    let committer: number | undefined;
    let committed: readonly { proposal: Proposal; senderLeafIndex: number | undefined }[] = [];
    let rejected: string | undefined;
    let proposal: { proposal: Proposal; senderLeafIndex: number | undefined } | undefined;
    const callback: IncomingMessageCallback = (incoming): IncomingMessageAction => {
      if (incoming.kind === 'proposal') {
        proposal = incoming.proposal;
        // Ghostproof members propose only their own removal (leaving); anything else waits
        // for a commit, which carries it by value.
        const leaving = this.isSelfRemove(before.ratchetTree, incoming.proposal);
        if (!leaving) rejected = 'proposal other than leaving';
        return leaving ? 'accept' : 'reject';
      }
      committer = incoming.senderLeafIndex;
      committed = incoming.proposals;
      rejected = this.commitPolicyViolation(before.ratchetTree, incoming.senderLeafIndex, incoming.proposals);
      return rejected ? 'reject' : 'accept';
    };
    let result;
    try {
      result = await processMessage({ context: this.context(), state: before, message, callback });
    } catch (err) {
      const failure =
        !handshake && err instanceof ValidationError
          ? await this.classifyApplicationFailure(before, header, err)
          : classifyMlsFailure(err, header.contentType === contentTypes.commit);
      if (failure.code === 'invalid-commit') {
        // A member's signed commit that removes this device, refused only for its form (no
        // update path: a client that was not upgraded): this device is out either way, and
        // derives nothing from it. It is told so, as for any removal, not alarmed.
        const by = leavesOf(before.ratchetTree).find((l) => l.leafIndex === committer);
        const ownLeaf = before.privatePath.leafIndex;
        const removesMe = committed.some(
          ({ proposal }) =>
            proposal.proposalType === defaultProposalTypes.remove &&
            'remove' in proposal &&
            proposal.remove.removed === ownLeaf,
        );
        if (by && removesMe) {
          this.state = { ...before, groupActiveState: { kind: 'removedFromGroup' } };
          await this.rememberCommit(header.epoch, bytes);
          await this.save();
          return {
            kind: 'commit',
            epoch: this.epoch,
            events: [{ kind: 'you-were-removed', by: by.address }],
          };
        }
        await this.markBroken(before, committer, committed);
      }
      throw failure;
    }

    if (result.kind === 'applicationMessage') {
      const {
        address: sender,
        leafIndex,
        generation,
      } = senderOfApplicationMessage(before, result.newState, header.epoch);
      const content = decodeContent(result.message);
      const id = hex(content.messageId);
      if (content.messageId.length !== 16)
        throw new ProtocolError('malformed', 'message id must be 16 bytes');
      this.state = result.newState;
      if (this.meta.seenMessageIds.includes(id)) {
        await this.save();
        return { kind: 'duplicate' };
      }
      this.meta.seenMessageIds = [...this.meta.seenMessageIds, id].slice(
        -this.env.limits.rememberedMessageIds,
      );
      if (!ignoreForksAndGaps) {
        const at = { current: this.epoch, leaf: leafIndex, sender, now: this.env.clock() };
        noteReceived(this.missingRecord, { ...at, epoch: header.epoch, generation });
        if (content.previousEpoch) {
          const stated = content.previousEpoch.epoch;
          const tree = result.newState.historicalReceiverData.get(stated)?.ratchetTree;
          noteStatement(this.missingRecord, {
            ...at,
            epoch: stated,
            messageEpoch: header.epoch,
            sent: content.previousEpoch.sent,
            leafHolder: tree
              ? (leavesOf(tree).find((l) => l.leafIndex === leafIndex)?.address ?? null)
              : undefined,
          });
        }
      }
      const expectedTag = this.meta.epochTags.find(([e]) => e === header.epoch.toString());
      if (
        expectedTag &&
        content.epochTag.length > 0 &&
        expectedTag[1] !== hex(content.epochTag) &&
        !ignoreForksAndGaps
      ) {
        await this.save();
        throw new ProtocolError('fork', 'a member shows a different history for this epoch');
      }
      await this.save();
      return { kind: 'message', sender, content, epoch: header.epoch };
    }

    if (header.contentType === contentTypes.proposal) {
      const from =
        proposal?.senderLeafIndex === undefined
          ? undefined
          : leavesOf(before.ratchetTree).find((l) => l.leafIndex === proposal?.senderLeafIndex);
      if (!from || rejected || result.actionTaken === 'reject') {
        throw new ProtocolError('not-allowed', 'proposal refused');
      }
      this.state = result.newState;
      await this.save();
      return { kind: 'proposal', from: from.address, leave: true };
    }

    // A commit.
    if (result.actionTaken === 'reject' || rejected) {
      await this.markBroken(before, committer, committed);
      throw new ProtocolError('invalid-commit', `commit refused: ${rejected ?? 'policy'}`);
    }
    const by =
      committer === undefined
        ? undefined
        : leavesOf(before.ratchetTree).find((l) => l.leafIndex === committer);
    if (!by) {
      await this.markBroken(before, undefined, []);
      throw new ProtocolError('invalid-commit', 'commit from a non-member');
    }
    await this.rememberCommit(header.epoch, bytes);
    this.state = result.newState;
    retireReplacedPathKeys(before, this.state);
    // A commit that arrives while ours is pending means ours lost the race: drop it.
    this.pending = undefined;
    await this.rememberEpochTag();
    await this.save();
    return {
      kind: 'commit',
      epoch: this.epoch,
      events: [
        ...diffRoster(
          before.ratchetTree,
          result.newState.ratchetTree,
          by.address,
          this.selfAddress,
          leaversOf(before.ratchetTree, committed),
        ),
        ...settingsEvents(settingsOf(before.groupContext.extensions, this.kind), this.settings, by.address),
      ],
    };
  }

  /**
   * An application message ts-mls refused with a ValidationError: a replay (its generation's
   * key is already used, or older than the out-of-order window or the epochs kept), a message
   * too far ahead in its sender's chain, or anything else (tampered), read from its sender
   * data against the ratchet this member holds for that sender.
   */
  private async classifyApplicationFailure(
    state: ClientState,
    message: PrivateMessage,
    cause: ValidationError,
  ): Promise<ProtocolError> {
    const current = message.epoch === state.groupContext.epoch;
    const epochData = current ? undefined : state.historicalReceiverData.get(message.epoch);
    if (!current && !epochData) {
      return new ProtocolError('replay', 'message from an epoch whose keys are gone', { cause });
    }
    const secret = current ? state.keySchedule.senderDataSecret : epochData!.senderDataSecret;
    const senderData = await readSenderData(this.env.cipherSuite, secret, message);
    if (!senderData) return new ProtocolError('tampered', 'message failed authentication', { cause });
    const tree = current ? state.secretTree : epochData!.secretTree;
    const ratchet = tree.leafNodes[senderData.leafIndex * 2]?.application;
    const next = ratchet?.generation ?? 0;
    if (senderData.generation < next && ratchet?.unusedGenerations[senderData.generation] === undefined) {
      return new ProtocolError('replay', 'message key already used or older than the out-of-order window', {
        cause,
      });
    }
    if (senderData.generation - next > this.env.limits.maxForwardSteps) {
      return new ProtocolError('too-far-ahead', 'message beyond the forward limit', { cause });
    }
    return new ProtocolError('tampered', 'message failed authentication', { cause });
  }

  private async markBroken(
    before: ClientState,
    committerLeaf: number | undefined,
    proposals: readonly { proposal: Proposal }[],
  ): Promise<void> {
    const leaves = leavesOf(before.ratchetTree);
    const committer = leaves.find((l) => l.leafIndex === committerLeaf)?.address;
    const removed = proposals.flatMap(({ proposal }) =>
      proposal.proposalType === defaultProposalTypes.remove && 'remove' in proposal
        ? leaves.filter((l) => l.leafIndex === proposal.remove.removed).map((l) => l.address)
        : [],
    );
    this.meta.broken = true;
    this.meta.refused = { ...(committer ? { committer } : {}), removed };
    await this.save();
  }

  private isSelfRemove(
    tree: RatchetTree,
    p: { proposal: Proposal; senderLeafIndex: number | undefined },
  ): boolean {
    return (
      p.senderLeafIndex !== undefined &&
      p.proposal.proposalType === defaultProposalTypes.remove &&
      'remove' in p.proposal &&
      p.proposal.remove.removed === p.senderLeafIndex &&
      leavesOf(tree).some((l) => l.leafIndex === p.senderLeafIndex)
    );
  }

  /** Rules beyond RFC 9420 that Ghostproof enforces on every commit it processes. */
  private commitPolicyViolation(
    tree: RatchetTree,
    senderLeafIndex: number | undefined,
    proposals: readonly { proposal: Proposal }[],
  ): string | undefined {
    // External commits are refused (DESIGN.md): membership changes only by members' commits.
    if (senderLeafIndex === undefined) return 'external commit';
    const leaves = leavesOf(tree);
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
        const violation = this.settingsProposalViolation(
          proposal.groupContextExtensions.extensions,
          committer.address.username,
          members,
        );
        if (violation) return violation;
      }
    }
    return undefined;
  }

  /**
   * A GroupContextExtensions proposal may only replace the conversation settings extension,
   * with well-formed settings, as settingsChangeViolation allows for its committer. Checked
   * against the current (pre-commit) group context.
   */
  private settingsProposalViolation(
    proposed: readonly GroupContextExtension[],
    committer: string,
    members: ReadonlySet<string>,
  ): string | undefined {
    const current = settingsExtensionData(this.state.groupContext.extensions);
    const next = settingsExtensionData(proposed);
    if (!current || !next) return 'group context extensions other than the conversation settings';
    let before: ConversationSettings;
    let after: ConversationSettings;
    try {
      before = decodeSettings(current);
      after = decodeSettings(next);
    } catch {
      return 'malformed conversation settings';
    }
    return settingsChangeViolation(before, after, committer, members);
  }
}

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
  const leaf = leavesOf(ratchetTree).find((l) => l.leafIndex === leafIndex);
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
