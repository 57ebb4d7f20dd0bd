// Device lists as key transparency proves them. Every lookup is a KT lookup proof, verified
// against the log keys this client pinned when it registered: the device list used is the
// value the proof opens (never the server's unproven word), signed by the identity key it
// names. The client keeps the newest checkpoint it verified and accepts a newer one only with
// a consistency proof; a checkpoint that contradicts one already seen (a fork, a split view)
// is kept as evidence and raised as an alarm. It also monitors every version of its own
// account, so a device it did not link is noticed even if it was removed again.
import {
  ApiError,
  routes,
  verifySignedDeviceList,
  canonicalUsername,
  type DeviceList,
} from '@ghostproof/api';
import { constantTimeEqual, createPlatformPrimitives } from '@ghostproof/crypto';
import {
  KtError,
  openCheckpoint,
  parseNoteVerifierKey,
  verifyConsistencyProof,
  verifyLookupProof,
  verifyMonitorProof,
  type Checkpoint,
  type KtTrustAnchor,
} from '@ghostproof/kt';
import type { DeviceDirectory } from '@ghostproof/protocol';
import { fromHex, toHex } from './bytes.js';
import { createClock } from './clock.js';
import { ClientError } from './errors.js';
import type { HttpApi } from './http.js';
import type { ClientStore } from './store.js';

const STATE = 'kt';
/** Timers only: decisions about time use the clock passed in. */
const realTime = createClock();

/** What the client keeps about the log (in its store, as one setting). */
export interface KtClientState {
  /** Pinned at registration. */
  readonly logKey: string;
  readonly vrfPublicKey: string;
  /** The newest checkpoint verified (signed note). */
  checkpoint: string;
  /** Monitoring of this account: the last version checked and its head. */
  monitor?: { label: string; version: number; head: string };
  /** Hex SHA-256 of every device list this account signed (what monitoring accepts). */
  ownLists: string[];
  /** Signed checkpoints that contradict each other: proof of a split view, kept. */
  evidence: string[];
}

export type KtAlarm =
  | { readonly kind: 'split-view'; readonly checkpoints: readonly string[] }
  | { readonly kind: 'unknown-device'; readonly version: number }
  | { readonly kind: 'kt-keys-changed' }
  | { readonly kind: 'kt-proof-invalid'; readonly username: string };

export interface IdentityChange {
  readonly username: string;
  readonly previousKey: Uint8Array;
  readonly newKey: Uint8Array;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(await (await createPlatformPrimitives()).digest('SHA-256', bytes));
}

export interface KtDirectoryOptions {
  /** How long a verified list is used before it is looked up again. */
  readonly maxAgeMs?: number;
  /** How long to wait for a just-registered account or a new list to be published. */
  readonly publicationWaitMs?: number;
  /**
   * Test-only: take device lists from the server's plain answer (signature checked, nothing
   * proven), pin no identity keys, monitor nothing, ignore checkpoints. The negative control
   * of the key transparency attack tests; products never set it.
   */
  readonly unsafeTestingWithoutKeyTransparency?: boolean;
}

export class KtDirectory implements DeviceDirectory {
  private readonly cache = new Map<string, { list: DeviceList; at: number }>();
  private state: KtClientState | undefined;

  constructor(
    private readonly http: HttpApi,
    private readonly store: ClientStore,
    private readonly token: () => Promise<Uint8Array>,
    private readonly clock: () => number,
    private readonly onIdentityChange: (change: IdentityChange) => void,
    private readonly onAlarm: (alarm: KtAlarm) => void,
    private readonly options: KtDirectoryOptions = {},
  ) {}

  private get maxAgeMs(): number {
    return this.options.maxAgeMs ?? 30_000;
  }

  private get publicationWaitMs(): number {
    return this.options.publicationWaitMs ?? 8_000;
  }

  private get withoutKeyTransparency(): boolean {
    return this.options.unsafeTestingWithoutKeyTransparency === true;
  }

  private async loadState(): Promise<KtClientState> {
    if (this.state) return this.state;
    const saved = await this.store.getSetting(STATE);
    if (!saved) throw new ClientError('not-registered', 'key transparency: log keys not pinned');
    this.state = JSON.parse(new TextDecoder().decode(saved)) as KtClientState;
    return this.state;
  }

  private async saveState(): Promise<void> {
    if (this.state) await this.store.putSetting(STATE, new TextEncoder().encode(JSON.stringify(this.state)));
  }

  private anchor(state: KtClientState): KtTrustAnchor {
    return { logKey: parseNoteVerifierKey(state.logKey), vrfPublicKey: fromHex(state.vrfPublicKey) };
  }

  /** Pins the log's keys (at registration) and remembers this account's first list. */
  async pin(ownSignedList: Uint8Array): Promise<void> {
    const keys = await this.http.call(routes.ktKeys);
    const anchor: KtTrustAnchor = {
      logKey: parseNoteVerifierKey(keys.logKey),
      vrfPublicKey: keys.vrfPublicKey,
    };
    const checkpoint = (await this.http.call(routes.ktCheckpoint)).note;
    openCheckpoint(checkpoint, anchor.logKey);
    this.state = {
      logKey: keys.logKey,
      vrfPublicKey: toHex(keys.vrfPublicKey),
      checkpoint,
      ownLists: [await sha256Hex(ownSignedList)],
      evidence: [],
    };
    await this.saveState();
  }

  /** Records another list this account signed (a linked or removed device). */
  async rememberOwnList(signedList: Uint8Array): Promise<void> {
    const state = await this.loadState();
    state.ownLists = [...new Set([...state.ownLists, await sha256Hex(signedList)])];
    await this.saveState();
  }

  /** The pinned log keys still served? A change is an alarm, never silently accepted. */
  async checkKeys(): Promise<void> {
    if (this.withoutKeyTransparency) return;
    const state = await this.loadState();
    const keys = await this.http.call(routes.ktKeys);
    if (keys.logKey !== state.logKey || toHex(keys.vrfPublicKey) !== state.vrfPublicKey) {
      this.onAlarm({ kind: 'kt-keys-changed' });
      throw new ClientError('identity-changed', 'key transparency: the log keys changed');
    }
  }

  get newestCheckpoint(): string | undefined {
    return this.state?.checkpoint;
  }

  /**
   * Moves to a checkpoint seen elsewhere (a lookup, a peer's message) only with a consistency
   * proof; a contradiction is a split view: both notes are kept and the alarm raised.
   */
  async observeCheckpoint(note: string): Promise<void> {
    if (this.withoutKeyTransparency) return;
    const state = await this.loadState();
    if (note === state.checkpoint) return;
    const anchor = this.anchor(state);
    let theirs: Checkpoint;
    try {
      theirs = openCheckpoint(note, anchor.logKey);
    } catch {
      return; // Not signed by the pinned key: not evidence of anything about this log.
    }
    const ours = openCheckpoint(state.checkpoint, anchor.logKey);
    try {
      if (theirs.size === ours.size) {
        if (toHex(theirs.rootHash) !== toHex(ours.rootHash)) throw new KtError('inconsistent', 'fork');
        return;
      }
      const [older, newer, newerNote] =
        theirs.size > ours.size ? [ours, theirs, note] : [theirs, ours, state.checkpoint];
      const proof = await this.consistencyProof(older.size, newer.size);
      verifyConsistencyProof(anchor, older, newerNote, proof);
      if (theirs.size > ours.size) {
        state.checkpoint = note;
        await this.saveState();
      }
    } catch (error) {
      if (!(error instanceof KtError)) throw error;
      state.evidence = [...new Set([...state.evidence, state.checkpoint, note])];
      await this.saveState();
      this.onAlarm({ kind: 'split-view', checkpoints: [state.checkpoint, note] });
    }
  }

  /**
   * A consistency proof between two sizes. The server signed both checkpoints, so an honest
   * one always has it: refusing it (rather than being unreachable or busy) is itself evidence
   * that it shows different people different logs.
   */
  private async consistencyProof(from: number, to: number): Promise<Uint8Array> {
    try {
      return (await this.http.call(routes.ktConsistency, { params: { from: String(from), to: String(to) } }))
        .proof;
    } catch (error) {
      if (ApiError.is(error, 'malformed') || ApiError.is(error, 'not-found')) {
        throw new KtError('inconsistent', 'the server cannot show that two of its checkpoints are one log', {
          cause: error,
        });
      }
      throw error;
    }
  }

  /**
   * Whether a proof was made against the newest checkpoint this client verified (after
   * observing the proof's own checkpoint, which moves ours on when it extends it). A proof
   * against an older checkpoint may show a value that has changed since (a replayed device
   * list, a monitoring answer that hides the newest versions); one against a contradicting
   * checkpoint is a split view, alarmed by observeCheckpoint. Neither may be used.
   */
  private async againstNewest(proven: Checkpoint): Promise<'newest' | 'older' | 'contradicting'> {
    const state = await this.loadState();
    const newest = openCheckpoint(state.checkpoint, this.anchor(state).logKey);
    if (proven.size === newest.size && toHex(proven.rootHash) === toHex(newest.rootHash)) return 'newest';
    return proven.size < newest.size ? 'older' : 'contradicting';
  }

  invalidate(username?: string): void {
    if (username) this.cache.delete(username);
    else this.cache.clear();
  }

  async lookup(username: string): Promise<DeviceList | undefined> {
    const name = canonicalUsername(username);
    const cached = this.cache.get(name);
    if (cached && this.clock() - cached.at < this.maxAgeMs) return cached.list;
    if (this.withoutKeyTransparency) return this.unprovenList(name);
    // A wait in real time (clock.ts): a clock a test froze or moved on must not decide it.
    const deadline = realTime.deadline(this.publicationWaitMs);
    try {
      for (;;) {
        const list = await this.provenList(name);
        if (list) {
          this.cache.set(name, { list, at: this.clock() });
          await this.pinIdentity(list);
          return list;
        }
        // Absent from the log. If the server knows the account, it is waiting for an epoch.
        if (deadline.passed || !(await this.serverKnows(name))) return undefined;
        await realTime.sleep(250);
      }
    } finally {
      deadline.cancel();
    }
  }

  /** The server's word alone (test-only: see KtDirectoryOptions). */
  private async unprovenList(username: string): Promise<DeviceList | undefined> {
    let signed: Uint8Array;
    try {
      signed = (
        await this.http.call(routes.getDeviceList, { params: { username }, token: await this.token() })
      ).signedDeviceList;
    } catch (error) {
      if (ApiError.is(error, 'not-found')) return undefined;
      throw error;
    }
    const platform = await createPlatformPrimitives();
    const list = await verifySignedDeviceList(signed, (pk, m, s) => platform.ed25519.verify(pk, m, s));
    if (list.username !== username) return undefined;
    this.cache.set(username, { list, at: this.clock() });
    // A contact record as on first use, but its key is never compared again: nothing pinned.
    if (!(await this.store.getContact(username))) await this.pinIdentity(list);
    return list;
  }

  private async serverKnows(username: string): Promise<boolean> {
    try {
      await this.http.call(routes.getDeviceList, { params: { username }, token: await this.token() });
      return true;
    } catch (error) {
      if (ApiError.is(error, 'not-found')) return false;
      throw error;
    }
  }

  private async provenList(username: string, retried = false): Promise<DeviceList | undefined> {
    const state = await this.loadState();
    const anchor = this.anchor(state);
    const { proof } = await this.http.call(routes.ktLookup, {
      params: { username },
      token: await this.token(),
    });
    let result;
    try {
      result = verifyLookupProof(anchor, username, proof);
    } catch (error) {
      if (error instanceof KtError) {
        this.onAlarm({ kind: 'kt-proof-invalid', username });
        throw new ClientError('identity-changed', 'key transparency: the server’s proof does not verify', {
          cause: error,
        });
      }
      throw error;
    }
    await this.observeCheckpoint(result.checkpointNote);
    const against = await this.againstNewest(result.checkpoint);
    if (against === 'older' && !retried) return this.provenList(username, true); // A new epoch raced us.
    if (against === 'older') this.onAlarm({ kind: 'kt-proof-invalid', username });
    if (against !== 'newest') {
      throw new ClientError(
        'identity-changed',
        'key transparency: the lookup is not proven against the newest checkpoint verified',
      );
    }
    if (result.version === 0 || !result.value || result.value.length === 0) return undefined;
    const platform = await createPlatformPrimitives();
    let list: DeviceList;
    try {
      list = await verifySignedDeviceList(result.value, (pk, m, s) => platform.ed25519.verify(pk, m, s));
    } catch (error) {
      // The log holds something its owner never signed: the server put it there.
      if (!ApiError.is(error)) throw error;
      this.onAlarm({ kind: 'kt-proof-invalid', username });
      throw new ClientError('identity-changed', 'key transparency: the logged list is not validly signed', {
        cause: error,
      });
    }
    if (list.username !== username || list.sequence !== BigInt(result.version)) {
      this.onAlarm({ kind: 'kt-proof-invalid', username });
      throw new ClientError(
        'identity-changed',
        'key transparency: the logged list does not match its version',
      );
    }
    return list;
  }

  private async pinIdentity(list: DeviceList): Promise<void> {
    const contact = await this.store.getContact(list.username);
    if (!contact) {
      await this.store.putContact({
        username: list.username,
        identityKey: list.identityKey,
        verified: false,
        blocked: false,
        accepted: false,
        identityChangedAt: 0,
        displayName: '',
      });
      return;
    }
    if (contact.identityKey.length > 0 && constantTimeEqual(contact.identityKey, list.identityKey)) return;
    const previousKey = contact.identityKey;
    await this.store.putContact({
      ...contact,
      identityKey: list.identityKey,
      identityChangedAt: this.clock(),
    });
    if (previousKey.length > 0)
      this.onIdentityChange({ username: list.username, previousKey, newKey: list.identityKey });
  }

  /**
   * Checks every version of this account logged since the last check: each must be a device
   * list this account signed. Anything else is a device it did not link (a ghost), even if a
   * later version removed it again.
   */
  async monitorOwnAccount(username: string, retried = false): Promise<void> {
    if (this.withoutKeyTransparency) return;
    const state = await this.loadState();
    const anchor = this.anchor(state);
    const from = state.monitor?.version ?? 0;
    const { proof } = await this.http.call(routes.ktMonitor, {
      params: { username, from: String(from) },
      token: await this.token(),
    });
    let verified;
    try {
      verified = verifyMonitorProof(
        anchor,
        username,
        state.monitor && {
          label: fromHex(state.monitor.label),
          version: state.monitor.version,
          head: fromHex(state.monitor.head),
        },
        proof,
      );
    } catch (error) {
      if (error instanceof KtError) {
        this.onAlarm({ kind: 'kt-proof-invalid', username });
        return;
      }
      throw error;
    }
    // An answer from an older log would hide the newest versions, one from another log all of them.
    await this.observeCheckpoint(verified.checkpointNote);
    const against = await this.againstNewest(verified.checkpoint);
    if (against === 'older' && !retried) return this.monitorOwnAccount(username, true);
    if (against === 'older') this.onAlarm({ kind: 'kt-proof-invalid', username });
    if (against !== 'newest') return;
    for (const version of verified.versions) {
      if (!state.ownLists.includes(await sha256Hex(version.value))) {
        this.onAlarm({ kind: 'unknown-device', version: version.version });
      }
    }
    state.monitor = {
      label: toHex(verified.state.label),
      version: verified.state.version,
      head: toHex(verified.state.head),
    };
    await this.saveState();
  }

  /** The signed checkpoints kept as evidence of a split view. */
  async evidence(): Promise<readonly string[]> {
    return (await this.loadState()).evidence;
  }
}
