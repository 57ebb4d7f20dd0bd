// The state of one conversation and its saved form: the MLS group state, Ghostproof's
// metadata about it (commits and epoch tags for fork checks, message ids for redeliveries,
// missing messages, whether it broke) and the pending commit. Every operation on a
// conversation reads and replaces this state; the bookkeeping they share lives here, and the
// state is saved (through the environment) after every change.
import { ByteReader, ByteWriter } from '@ghostproof/api';
import { constantTimeEqual, forgetSecretKeys } from '@ghostproof/crypto';
import {
  clientStateDecoder,
  clientStateEncoder,
  decode,
  encode,
  nodeTypes,
  processMessage,
  type ClientState,
  type IncomingMessageCallback,
  type MlsContext,
  type MlsPrivateMessage,
  type ProcessMessageResult,
  type Proposal,
} from 'ts-mls';
import { hex, sha256, utf8 } from './bytes.js';
import { mlsContextFor, type ConversationEnv } from './conversation-env.js';
import type { ConversationKind, ConversationSettings } from './conversation-settings.js';
import type { PendingCommit, RosterEvent } from './conversation-types.js';
import type { DeviceAddress } from './credential.js';
import { ProtocolError } from './errors.js';
import { newMissingMessagesRecord, type MissingMessagesRecord } from './missing-messages.js';
import { leafAt, removedBy } from './roster.js';
import { settingsOf } from './settings-extension.js';

/** The ts-mls release whose saved state this code reads; states of other releases are refused. */
export const MLS_STATE_FORMAT = 'ts-mls 2.0.0-rc.10';
const RECORD_MAGIC = 0x47504331; // "GPC1"

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

/** A commit this device made and has not yet seen accepted, with the state it leads to. */
export interface PendingState {
  readonly meta: NonNullable<Metadata['pending']>;
  readonly commit: Uint8Array;
  readonly welcome: Uint8Array | undefined;
  readonly newState: ClientState;
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

export class ConversationState {
  pending: PendingState | undefined;

  private constructor(
    readonly env: ConversationEnv,
    /** The MLS group state of the current epoch. */
    public mls: ClientState,
    public meta: Metadata,
  ) {}

  /** A conversation just created or joined at `state`'s epoch, saved. */
  static async create(
    env: ConversationEnv,
    state: ClientState,
    kind: ConversationKind,
  ): Promise<ConversationState> {
    const conversation = new ConversationState(env, state, {
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

  /** Reads a record written by `encode()`; refuses (`malformed`) state of another ts-mls release. */
  static decode(env: ConversationEnv, record: Uint8Array): ConversationState {
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
      const conversation = new ConversationState(env, state, meta);
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
  encode(): Uint8Array {
    const meta = JSON.stringify({ ...this.meta, pending: this.pending?.meta });
    const writer = new ByteWriter().u32(RECORD_MAGIC);
    const format = utf8(MLS_STATE_FORMAT);
    writer.u16(format.length).bytes(format);
    const metaBytes = utf8(meta);
    writer.u32(metaBytes.length).bytes(metaBytes);
    const state = encode(clientStateEncoder, this.mls);
    writer.u32(state.length).bytes(state);
    const pendingState = this.pending ? encode(clientStateEncoder, this.pending.newState) : new Uint8Array(0);
    writer.u32(pendingState.length).bytes(pendingState);
    const commit = this.pending?.commit ?? new Uint8Array(0);
    writer.u32(commit.length).bytes(commit);
    const welcome = this.pending?.welcome ?? new Uint8Array(0);
    writer.u32(welcome.length).bytes(welcome);
    return writer.finish();
  }

  async save(): Promise<void> {
    await this.env.persist(this.groupId, this.encode());
  }

  get groupId(): Uint8Array {
    return this.mls.groupContext.groupId;
  }

  get epoch(): bigint {
    return this.mls.groupContext.epoch;
  }

  get kind(): ConversationKind {
    return this.meta.kind;
  }

  get settings(): ConversationSettings {
    return settingsOf(this.mls.groupContext.extensions, this.meta.kind);
  }

  /** This device's address, without its keys (events and errors must never carry keys). */
  get selfAddress(): DeviceAddress {
    return { username: this.env.self.username, deviceId: this.env.self.deviceId };
  }

  get missingRecord(): MissingMessagesRecord {
    this.meta.missing ??= newMissingMessagesRecord(this.epoch);
    return this.meta.missing;
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

  context(): MlsContext {
    return mlsContextFor(this.env);
  }

  /**
   * ts-mls's processing of `message` against the current state, which it leaves as it is:
   * the caller adopts the new state once it has checked the result. `callback` rules on a
   * proposal or commit before it is applied.
   */
  processMessage(
    message: MlsPrivateMessage,
    callback?: IncomingMessageCallback,
  ): Promise<ProcessMessageResult> {
    return processMessage({
      context: this.context(),
      state: this.mls,
      message,
      ...(callback ? { callback } : {}),
    });
  }

  /** Throws `not-a-member` unless this device is still in the group. */
  requireActive(): void {
    if (this.mls.groupActiveState.kind !== 'active')
      throw new ProtocolError('not-a-member', 'not in the conversation');
  }

  async epochTag(): Promise<Uint8Array> {
    const digest = await sha256(utf8('ghostproof-epoch-tag-v1\0'), this.mls.keySchedule.epochAuthenticator);
    return digest.slice(0, 16);
  }

  async rememberEpochTag(): Promise<void> {
    const tag = hex(await this.epochTag());
    const epoch = this.epoch.toString();
    this.meta.epochTags = [
      ...this.meta.epochTags.filter(([e]) => e !== epoch),
      [epoch, tag] as [string, string],
    ].slice(-(this.env.limits.retainEpochs + 1));
  }

  /** Whether `commit` differs from the one this member merged for `epoch`; undefined if none is remembered. */
  async differsFromMergedCommit(epoch: bigint, commit: Uint8Array): Promise<boolean | undefined> {
    const seen = this.meta.commits.find(([e]) => e === epoch.toString());
    return seen ? seen[1] !== hex(await sha256(commit)) : undefined;
  }

  async rememberCommit(epoch: bigint, commit: Uint8Array): Promise<void> {
    const digest = hex(await sha256(commit));
    const key = epoch.toString();
    this.meta.commits = [
      ...this.meta.commits.filter(([e]) => e !== key),
      [key, digest] as [string, string],
    ].slice(-this.env.limits.rememberedCommits);
  }

  /**
   * Moves to the epoch `commit` (for `epoch`) leads to, whoever made it, and saves. A commit
   * merged while ours is pending means ours lost the race (or was ours): the pending one goes.
   */
  async mergeCommit(epoch: bigint, commit: Uint8Array, next: ClientState): Promise<void> {
    await this.rememberCommit(epoch, commit);
    const previous = this.mls;
    this.mls = next;
    retireReplacedPathKeys(previous, next);
    this.pending = undefined;
    await this.rememberEpochTag();
    await this.save();
  }

  /** Marks the conversation as one that cannot continue after refusing a sequenced commit. */
  async markBroken(
    before: ClientState,
    committerLeaf: number | undefined,
    proposals: readonly { proposal: Proposal }[],
  ): Promise<void> {
    const committer = leafAt(before.ratchetTree, committerLeaf)?.address;
    const removed = removedBy(before.ratchetTree, proposals);
    this.meta.broken = true;
    this.meta.refused = { ...(committer ? { committer } : {}), removed };
    await this.save();
  }
}
