// The storage rules, as pure functions both adapters call: what a change to the device list
// adds and removes, when a commit's removals are refused, how an earlier send is answered
// again, the one-time key-package cap, the delivery kind codes and how a row becomes a record.
// An adapter only turns these into SQL, so a policy lives here once and the SQLite and
// PostgreSQL adapters cannot drift apart on it.
import { ApiError } from '@ghostproof/api';
import { blob, sameBytes } from './ids.js';
import type {
  AcceptedSend,
  AccountRecord,
  AccountUpdate,
  AttachmentRecord,
  DeliveryKind,
  DeviceListChange,
  DeviceRecord,
  KeyPackageClaim,
  MailboxKey,
  MailboxName,
  RoutingList,
  SendIdentity,
  SessionRecord,
  StoredDelivery,
} from './store.js';
import { messageIdOf } from './ids.js';

// ---- rows ------------------------------------------------------------------------------
// Both schemas name and type these columns alike (BIGINT read as numbers).

export interface AccountRow {
  readonly id: number;
  readonly username: string;
  readonly identity_key: Buffer;
  readonly sequence: number;
  readonly device_list: Buffer;
  readonly max_device_id: number;
  readonly logged_sequence: number;
  readonly created_at: number;
}

export interface DeviceRow {
  readonly device_id: number;
  readonly signature_key: Buffer;
}

export function accountOf(row: AccountRow, devices: readonly DeviceRow[]): AccountRecord {
  return {
    id: row.id,
    username: row.username,
    identityKey: row.identity_key,
    sequence: BigInt(row.sequence),
    signedDeviceList: row.device_list,
    devices: devices.map((d): DeviceRecord => ({ deviceId: d.device_id, signatureKey: d.signature_key })),
    maxDeviceId: row.max_device_id,
    loggedSequence: BigInt(row.logged_sequence),
    createdAt: row.created_at,
  };
}

/** A row of `account_updates`. */
export interface AccountUpdateRow {
  readonly seq: number;
  readonly username: string;
  readonly version: number;
  readonly device_list: Buffer | null;
  readonly at: number;
}

export function accountUpdateOf(row: AccountUpdateRow): AccountUpdate & { readonly seq: number } {
  return {
    seq: row.seq,
    username: row.username,
    version: BigInt(row.version),
    signedDeviceList: row.device_list,
    at: row.at,
  };
}

/** The columns of an account update, in the order both adapters insert them. */
export function accountUpdateValues(update: AccountUpdate): [string, number, Buffer | null, number] {
  return [
    update.username,
    Number(update.version),
    update.signedDeviceList ? blob(update.signedDeviceList) : null,
    update.at,
  ];
}

export interface SessionRow {
  readonly account_id: number;
  readonly device_id: number;
  readonly expires_at: number;
  readonly username: string;
}

export function sessionOf(row: SessionRow | undefined): SessionRecord | undefined {
  return row
    ? {
        accountId: row.account_id,
        deviceId: row.device_id,
        expiresAt: row.expires_at,
        username: row.username,
      }
    : undefined;
}

export interface AttachmentRow {
  readonly id: Buffer;
  readonly token_hash: Buffer;
  readonly size: number;
  readonly created_at: number;
  readonly expires_at: number;
}

export function attachmentOf(row: AttachmentRow | undefined): AttachmentRecord | undefined {
  return row
    ? {
        id: row.id,
        tokenHash: row.token_hash,
        size: row.size,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    : undefined;
}

/** The columns of an attachment, in the order both adapters insert them. */
export function attachmentValues(record: AttachmentRecord, owner: MailboxKey): unknown[] {
  return [
    blob(record.id),
    blob(record.tokenHash),
    owner.accountId,
    owner.deviceId,
    record.size,
    record.createdAt,
    record.expiresAt,
  ];
}

/** A row of `key_package_claims` as a Welcome's routing reads it. */
export interface ClaimRow {
  readonly ref: Buffer;
  readonly account_id: number;
  readonly device_id: number;
}

/** A mailbox entry joined with its message, as a mailbox read returns it. */
export interface PendingRow {
  readonly seq: number;
  readonly tag: Buffer;
  readonly kind: number;
  readonly body: Buffer;
  readonly received_at: number;
}

export function storedDeliveryOf(row: PendingRow): StoredDelivery {
  return {
    seq: row.seq,
    messageId: messageIdOf(row.seq, row.tag),
    kind: kindNames[row.kind]!,
    body: row.body,
    receivedAt: row.received_at,
  };
}

/** A group joined with its members (none for a group whose members all left). */
export interface MembershipRow {
  readonly epoch: number;
  readonly account_id: number | null;
  readonly device_id: number | null;
}

export function membersOf(rows: readonly MembershipRow[]): MailboxKey[] {
  return rows
    .filter((r) => r.account_id !== null && r.device_id !== null)
    .map((r) => ({ accountId: r.account_id!, deviceId: r.device_id! }));
}

export function routingListOf(
  epoch: number,
  rows: readonly { username: string; device_id: number }[],
): RoutingList {
  return {
    epoch: BigInt(epoch),
    members: rows.map((r): MailboxName => ({ username: r.username, deviceId: r.device_id })),
  };
}

/** A row of `sends`: the answer given to a client id. */
export interface SendRow {
  readonly content_hash: Buffer;
  readonly message_id: Buffer;
  readonly epoch: number;
  readonly accepted_at: number;
}

// ---- delivery kinds --------------------------------------------------------------------

/** How each schema stores a delivery's kind; the codes are on disk, so they never change. */
export const kindCodes: Readonly<Record<DeliveryKind, number>> = { message: 1, commit: 2, welcome: 3 };
const kindNames: Readonly<Record<number, DeliveryKind>> = { 1: 'message', 2: 'commit', 3: 'welcome' };

// ---- accounts --------------------------------------------------------------------------

/** What applying `change` to `current` does to the devices, or why it must not apply. */
export interface DeviceListDiff {
  readonly removed: readonly number[];
  readonly added: readonly DeviceRecord[];
  /** The highest device id ever used, the new ones included: ids are never reused. */
  readonly maxDeviceId: number;
}

/**
 * The device-list compare-and-set and its diff. Throws 'not-found' for an unknown account and
 * 'stale-sequence' unless the stored sequence is the one the change expects.
 */
export function diffDeviceList(current: AccountRecord | undefined, change: DeviceListChange): DeviceListDiff {
  if (!current) throw new ApiError('not-found', 'account: not found');
  if (current.sequence !== change.expectedSequence) {
    throw new ApiError('stale-sequence', 'device list: sequence is not current + 1');
  }
  const next = new Set(change.devices.map((d) => d.deviceId));
  const known = new Set(current.devices.map((d) => d.deviceId));
  const added = change.devices.filter((d) => !known.has(d.deviceId));
  return {
    removed: current.devices.filter((d) => !next.has(d.deviceId)).map((d) => d.deviceId),
    added,
    maxDeviceId: Math.max(current.maxDeviceId, ...added.map((d) => d.deviceId)),
  };
}

/** The conditional UPDATE of the device list matched no row: another write came first. */
export function deviceListChangedConcurrently(): ApiError {
  return new ApiError('stale-sequence', 'device list: changed concurrently');
}

export const usernameTaken = (): ApiError => new ApiError('username-taken', 'username: taken');
export const inviteRefused = (): ApiError => new ApiError('invite-required', 'invite code: unknown or spent');

/** Tables whose rows belong to one device; they go when the device (or account) goes. */
export const DEVICE_TABLES = [
  'key_packages',
  'key_package_claims',
  'sessions',
  'group_members',
  'sends',
] as const;

// ---- key packages ----------------------------------------------------------------------

/** The one-time cap: 'too-large' when the upload would take the device past `max`. */
export function checkOneTimeCap(existing: number, adding: number, max: number): void {
  if (existing + adding > max) {
    throw new ApiError('too-large', `key packages: at most ${max} one-time packages per device`);
  }
}

export const keyPackageTaken = (): ApiError => new ApiError('conflict', 'key package: already uploaded');

// ---- groups and messages ---------------------------------------------------------------

export const groupIdTaken = (): ApiError => new ApiError('conflict', 'group id: taken');

function sameMailbox(a: MailboxKey, b: MailboxKey): boolean {
  return a.accountId === b.accountId && a.deviceId === b.deviceId;
}

/**
 * Checks that `member` is on the routing list; 'forbidden' otherwise. Unknown groups and
 * groups one is not on get the same answer.
 */
export function requireMember(members: readonly MailboxKey[] | undefined, member: MailboxKey): void {
  if (!isMember(members, member)) throw notOnRoutingList();
}

export function isMember(members: readonly MailboxKey[] | undefined, member: MailboxKey): boolean {
  return members?.some((m) => sameMailbox(m, member)) ?? false;
}

export const notOnRoutingList = (): ApiError => new ApiError('forbidden', 'group: not on its routing list');

/** A mailbox as a set or map key. */
export const mailboxKeyOf = (m: MailboxKey): string => `${m.accountId}/${m.deviceId}`;

/** A message's recipients: every mailbox on the routing list but the sender's. */
export function othersThan(members: readonly MailboxKey[], sender: MailboxKey): MailboxKey[] {
  return members.filter((m) => !sameMailbox(m, sender));
}

export const staleEpoch = (): ApiError => new ApiError('stale-epoch', 'commit: not for the current epoch');

/**
 * The mailboxes a Welcome goes to, one per KeyPackageRef it names, from `claims`: the live
 * claims of those refs that the committing device made itself. A ref without one is refused
 * whether someone else claimed it or nobody did (one answer, so the error tells a committer
 * nothing about other people's claims), and the caller's transaction then stores nothing.
 */
export function welcomeRecipients(refs: readonly Uint8Array[], claims: readonly ClaimRow[]): MailboxKey[] {
  const byRef = new Map(claims.map((c) => [c.ref.toString('hex'), c]));
  return refs.map((ref) => {
    const claim = byRef.get(blob(ref).toString('hex'));
    if (!claim) {
      throw new ApiError('unknown-key-package', 'Welcome: names a key package this device did not claim');
    }
    return { accountId: claim.account_id, deviceId: claim.device_id };
  });
}

/**
 * The mailboxes a commit removes, from the names it gives and the account ids those names
 * have now. A name whose account is gone needs no removal; the committer removing itself is
 * 'malformed' (it would leave a group it still commits to).
 */
export function removedMailboxes(
  remove: readonly MailboxName[],
  accountIds: ReadonlyMap<string, number>,
  sender: MailboxKey,
): MailboxKey[] {
  const removed: MailboxKey[] = [];
  for (const name of remove) {
    const accountId = accountIds.get(name.username);
    if (accountId !== undefined) removed.push({ accountId, deviceId: name.deviceId });
  }
  if (removed.some((r) => sameMailbox(r, sender))) {
    throw new ApiError('malformed', 'commit: the committer cannot remove itself');
  }
  return removed;
}

/** The routing-list cap after a commit: 'too-large' past `max`. */
export function checkMaxMembers(count: number, max: number): void {
  if (count > max) throw new ApiError('too-large', `group: over ${max} mailboxes`);
}

type Deliveries = AcceptedSend['deliveries'];

/** The answer to a send just stored. */
export function acceptedSend(
  messageId: Uint8Array,
  epoch: number,
  acceptedAt: number,
  deliveries: Deliveries,
): AcceptedSend {
  return { messageId, epoch: BigInt(epoch), acceptedAt, duplicate: false, deliveries };
}

/** The columns of a `key_package_claims` row for the package `ref` of device `deviceId`. */
export function claimValues(ref: Buffer, input: KeyPackageClaim, deviceId: number): unknown[] {
  return [
    ref,
    input.target,
    deviceId,
    input.claimer.accountId,
    input.claimer.deviceId,
    input.now,
    input.claimExpiresAt,
  ];
}

/** The columns of a `sends` row (the idempotency record), in the order every insert uses. */
export function sendValues(input: SendIdentity, messageId: Uint8Array, epoch: number): unknown[] {
  return [
    input.sender.accountId,
    input.sender.deviceId,
    blob(input.clientId),
    blob(input.contentHash),
    blob(messageId),
    epoch,
    input.now,
    input.expiresAt,
  ];
}

export const clientIdReused = (): ApiError =>
  new ApiError('conflict', 'client id: reused with different content');

/**
 * The answer to a resend: the earlier one, as a duplicate, announcing `deliveries` again.
 * The same client id with other content is a 'conflict', never a second message.
 */
export function previousAnswer(
  row: SendRow,
  contentHash: Uint8Array,
  deliveries: Deliveries = [],
): AcceptedSend {
  if (!sameBytes(row.content_hash, contentHash)) throw clientIdReused();
  return {
    messageId: row.message_id,
    epoch: BigInt(row.epoch),
    acceptedAt: row.accepted_at,
    duplicate: true,
    deliveries,
  };
}

/** What purgeExpired deletes, besides messages, entries and attachments: table and expiry column. */
export const EXPIRING = [
  ['sends', 'expires_at'],
  ['sessions', 'expires_at'],
  ['challenges', 'expires_at'],
  ['key_packages', 'not_after'],
  ['key_package_claims', 'expires_at'],
  ['invites', 'expires_at'],
] as const;
