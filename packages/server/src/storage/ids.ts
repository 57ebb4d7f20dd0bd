// Shared by every storage adapter: the message id format (the gateway and clients see it, so
// all adapters must agree on it), byte helpers, and the rows both read alike.
import { ApiError } from '@ghostproof/api';
import type { AccountUpdate, MailboxKey } from './store.js';

/** A message id: its 8-byte mailbox position followed by 8 random bytes. */
export function messageIdOf(seq: number, tag: Uint8Array): Uint8Array {
  const id = new Uint8Array(16);
  new DataView(id.buffer).setBigUint64(0, BigInt(seq));
  id.set(tag, 8);
  return id;
}

/** The mailbox position in a message id, or undefined for an id that cannot be ours. */
export function seqOf(messageId: Uint8Array): number | undefined {
  if (messageId.length !== 16) return undefined;
  const seq = new DataView(messageId.buffer, messageId.byteOffset, 16).getBigUint64(0);
  return seq > 0n && seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : undefined;
}

/** A Buffer view of the same bytes (no copy), as the database drivers want. */
export function blob(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(blob(a), blob(b)) === 0;
}

/** A row of `account_updates`, the same in both schemas. */
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

/** A row of `key_package_claims` as a Welcome's routing reads it, the same in both schemas. */
export interface ClaimRow {
  readonly ref: Buffer;
  readonly account_id: number;
  readonly device_id: number;
}

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
