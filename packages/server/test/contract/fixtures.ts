// What the store contract's tests build their cases from: accounts, key packages, messages
// and commits as the services above the store would hand them over, with fresh random ids so
// that cases sharing one store never collide.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type {
  AccountRecord,
  CommitInput,
  MailboxKey,
  MessageInput,
  SendIdentity,
  Store,
  StoredKeyPackage,
} from '../../src/storage/store.js';

export const NOW = 1_700_000_000_000;
export const DAY = 86_400_000;
/** Far enough ahead that nothing a case stores expires unless the case says so. */
export const LATER = NOW + 30 * DAY;

let counter = 0;

/** A name no other case of this process uses. */
export function uniqueName(prefix = 'user'): string {
  return `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
}

export function mailbox(account: AccountRecord, deviceId = 1): MailboxKey {
  return { accountId: account.id, deviceId };
}

/** Registers an account with devices `deviceIds` (default: device 1). */
export async function newAccount(
  store: Store,
  options: { deviceIds?: readonly number[]; username?: string; inviteHash?: Uint8Array } = {},
): Promise<AccountRecord> {
  const username = options.username ?? uniqueName();
  return store.createAccount({
    username,
    skeleton: username,
    identityKey: randomBytes(32),
    signedDeviceList: randomBytes(40),
    devices: (options.deviceIds ?? [1]).map((deviceId) => ({ deviceId, signatureKey: randomBytes(32) })),
    ...(options.inviteHash ? { inviteHash: options.inviteHash } : {}),
    now: NOW,
  });
}

export function keyPackage(notAfter = LATER): StoredKeyPackage {
  return { ref: randomBytes(32), body: randomBytes(60), notAfter };
}

/** A send's identity: a fresh client id and content, sent now, kept until LATER. */
function newSend(sender: MailboxKey): SendIdentity {
  return { sender, clientId: randomBytes(16), contentHash: randomBytes(32), now: NOW, expiresAt: LATER };
}

export function message(
  sender: MailboxKey,
  groupId: Uint8Array,
  overrides: Partial<MessageInput> = {},
): MessageInput {
  return {
    ...newSend(sender),
    groupId,
    body: randomBytes(100),
    ...overrides,
  };
}

export function commit(
  sender: MailboxKey,
  groupId: Uint8Array,
  epoch: bigint,
  overrides: Partial<CommitInput> = {},
): CommitInput {
  return {
    ...newSend(sender),
    groupId,
    epoch,
    commit: randomBytes(80),
    remove: [],
    maxMembers: 100,
    ...overrides,
  };
}

/** Uploads one one-time package for `target` and has `claimer` claim it; returns its ref. */
export async function claimedRef(store: Store, target: MailboxKey, claimer: MailboxKey): Promise<Uint8Array> {
  const kp = keyPackage();
  await store.addKeyPackages({ mailbox: target, oneTime: [kp], maxOneTime: 100, now: NOW });
  const [result] = await store.claimKeyPackages({
    target: target.accountId,
    deviceIds: [target.deviceId],
    claimer,
    now: NOW,
    claimExpiresAt: LATER,
  });
  assert.deepEqual(new Uint8Array(result!.keyPackage!), new Uint8Array(kp.body));
  return kp.ref;
}

/** A group created by `creator` with `members` added by a Welcome; returns its id at epoch 1. */
export async function groupWith(store: Store, creator: MailboxKey, members: readonly MailboxKey[]) {
  const groupId = randomBytes(16);
  await store.createGroup(groupId, creator, NOW);
  const refs = [];
  for (const m of members) refs.push(await claimedRef(store, m, creator));
  await store.sequenceCommit(
    commit(creator, groupId, 0n, { welcome: { body: randomBytes(90), keyPackageRefs: refs } }),
  );
  return groupId;
}

/** The code of a rejection, or 'accepted'. */
export function outcomeCode(outcome: PromiseSettledResult<unknown>): string | undefined {
  return outcome.status === 'rejected' ? (outcome.reason as { code?: string }).code : 'accepted';
}

/** Asserts that `promise` rejects with an error carrying `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: { code?: string }) => {
    assert.equal(error.code, code);
    return true;
  });
}

export const bytes = (b: Uint8Array) => new Uint8Array(b);
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
