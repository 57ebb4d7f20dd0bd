// The storage interface of the server. Every method is asynchronous and each write method
// is one atomic unit (a transaction, or a savepoint inside a group commit), so that an
// adapter can batch: SQLite commits all writes of one event-loop tick together, and the
// PostgreSQL adapter will pipeline batched statements. Methods speak in the server's terms
// (register an account, sequence a commit, claim a key package), not in SQL, so each
// adapter can keep its own schema. The checks that must happen inside the transaction
// (epoch compare-and-set, routing-list membership, idempotency by client id) are part of the
// contract, not of the caller.

/** Internal account id; never leaves the server. */
export type AccountId = number;

/** A device's mailbox inside the server: (account, device id). */
export interface MailboxKey {
  readonly accountId: AccountId;
  readonly deviceId: number;
}

/** A mailbox as clients name it. */
export interface MailboxName {
  readonly username: string;
  readonly deviceId: number;
}

export interface DeviceRecord {
  readonly deviceId: number;
  readonly signatureKey: Uint8Array;
}

export interface AccountRecord {
  readonly id: AccountId;
  readonly username: string;
  readonly identityKey: Uint8Array;
  /** The device list's sequence: the account's version in key transparency. */
  readonly sequence: bigint;
  readonly signedDeviceList: Uint8Array;
  readonly devices: readonly DeviceRecord[];
  /** Highest device id the account ever used; new devices must use higher ids. */
  readonly maxDeviceId: number;
  /** Highest sequence that the AccountLog confirmed. */
  readonly loggedSequence: bigint;
  readonly createdAt: number;
}

export interface NewAccount {
  readonly username: string;
  readonly skeleton: string;
  readonly identityKey: Uint8Array;
  readonly signedDeviceList: Uint8Array;
  readonly devices: readonly DeviceRecord[];
  /** SHA-256 of the invite code, when the server requires one. */
  readonly inviteHash?: Uint8Array;
  readonly now: number;
}

export interface DeviceListChange {
  readonly accountId: AccountId;
  /** Compare-and-set: the update applies only if the stored sequence is this one. */
  readonly expectedSequence: bigint;
  readonly sequence: bigint;
  readonly signedDeviceList: Uint8Array;
  readonly devices: readonly DeviceRecord[];
}

/** One accepted account update, as the AccountLog records it. */
export interface AccountUpdate {
  readonly username: string;
  /** The account's version; grows by exactly one per update. */
  readonly version: bigint;
  /** The signed device list of this version; null when the account was deleted. */
  readonly signedDeviceList: Uint8Array | null;
  readonly at: number;
}

export interface SessionRecord {
  readonly accountId: AccountId;
  readonly username: string;
  readonly deviceId: number;
  readonly expiresAt: number;
}

export interface StoredKeyPackage {
  /** KeyPackageRef: how a Welcome names it. */
  readonly ref: Uint8Array;
  /** The MLSMessage as uploaded. */
  readonly body: Uint8Array;
  /** Milliseconds since 1970 after which it is never handed out. */
  readonly notAfter: number;
}

export interface KeyPackageCount {
  readonly oneTime: number;
  readonly lastResort: boolean;
}

/** One device's upload of key packages. */
export interface KeyPackageUpload {
  readonly mailbox: MailboxKey;
  readonly oneTime: readonly StoredKeyPackage[];
  /** Replaces the device's last-resort package. */
  readonly lastResort?: StoredKeyPackage;
  /** The one-time cap: live one-time packages a device may hold. */
  readonly maxOneTime: number;
  readonly now: number;
}

/** A claim of one key package for each of the target's devices. */
export interface KeyPackageClaim {
  readonly target: AccountId;
  readonly deviceIds: readonly number[];
  readonly claimer: MailboxKey;
  readonly now: number;
  readonly claimExpiresAt: number;
}

export interface ClaimResult {
  readonly deviceId: number;
  /** Undefined when the device has no usable key package. */
  readonly keyPackage?: Uint8Array;
  readonly lastResort: boolean;
}

export type DeliveryKind = 'message' | 'commit' | 'welcome';

/** A message stored for delivery: the body once, plus one mailbox entry per recipient. */
export interface StoredDelivery {
  /** Position in the recipient's mailbox; grows with every entry. */
  readonly seq: number;
  readonly messageId: Uint8Array;
  readonly kind: DeliveryKind;
  readonly body: Uint8Array;
  readonly receivedAt: number;
}

/** A new delivery for the live bus: who must get which entry. */
export interface Fanout {
  readonly mailbox: MailboxKey;
  readonly seq: number;
}

export interface AcceptedSend {
  readonly messageId: Uint8Array;
  readonly epoch: bigint;
  readonly acceptedAt: number;
  /** True when this answers a resend with the same client id. */
  readonly duplicate: boolean;
  /**
   * Entries the caller announces to their recipients: those created or, for a duplicate,
   * those of the first send still waiting, because the node that stored them may have died
   * before announcing them (its client then resends elsewhere). An adapter only one process
   * writes may leave a duplicate's empty: after a restart every connection reads its mailbox.
   */
  readonly deliveries: readonly {
    readonly kind: DeliveryKind;
    readonly messageId: Uint8Array;
    readonly fanout: readonly Fanout[];
  }[];
}

export interface SendIdentity {
  readonly sender: MailboxKey;
  /** Client-chosen id: a resend with the same id and body is answered as before. */
  readonly clientId: Uint8Array;
  /** Hash of the request's content: the same client id with other content is a conflict. */
  readonly contentHash: Uint8Array;
  readonly now: number;
  /** When undelivered entries and the idempotency record expire. */
  readonly expiresAt: number;
}

export interface MessageInput extends SendIdentity {
  readonly groupId: Uint8Array;
  readonly body: Uint8Array;
}

export interface CommitInput extends SendIdentity {
  readonly groupId: Uint8Array;
  /** The epoch in the commit's header: must equal the group's current epoch. */
  readonly epoch: bigint;
  readonly commit: Uint8Array;
  /**
   * The Welcome, delivered to the mailboxes its KeyPackageRefs were claimed for. Each ref
   * must have a live claim made by `sender` itself (the same device), else
   * 'unknown-key-package' and nothing is stored: someone else's claim routes nothing.
   */
  readonly welcome?: { readonly body: Uint8Array; readonly keyPackageRefs: readonly Uint8Array[] };
  readonly remove: readonly MailboxName[];
  /** Largest routing list allowed after the commit. */
  readonly maxMembers: number;
}

export interface RoutingList {
  readonly epoch: bigint;
  readonly members: readonly MailboxName[];
}

export interface AttachmentRecord {
  readonly id: Uint8Array;
  readonly tokenHash: Uint8Array;
  readonly size: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface PurgeResult {
  readonly messages: number;
  readonly entries: number;
  /** Attachments whose rows were removed; the caller deletes their files. */
  readonly attachments: readonly Uint8Array[];
}

/**
 * The server's storage. Every error a caller can act on is an `ApiError` (from
 * @ghostproof/api) with a stable code, listed under each method. Any method may also throw
 * `ApiError('unavailable')`: a write after close(), or (PostgreSQL) a database that cannot be
 * reached or a batch that could not commit; the caller may try again later. An error that is
 * not an ApiError is the driver's (a failing disk, a bug) and is not part of the contract.
 */
export interface Store {
  // Accounts.
  /**
   * Registers an account at sequence 1 with its devices.
   * @throws {ApiError} 'username-taken' when the skeleton is or was registered.
   * @throws {ApiError} 'invite-required' when an invite is given but unknown, spent or expired.
   * @throws {ApiError} 'unavailable'.
   */
  createAccount(account: NewAccount): Promise<AccountRecord>;
  /** @throws {ApiError} 'unavailable'. */
  accountByUsername(username: string): Promise<AccountRecord | undefined>;
  /** @throws {ApiError} 'unavailable'. */
  accountById(id: AccountId): Promise<AccountRecord | undefined>;
  /**
   * Applies a new device list (compare-and-set on the sequence).
   * Removed devices lose their mailbox, key packages, sessions and routing-list places.
   * @throws {ApiError} 'not-found' when the account does not exist.
   * @throws {ApiError} 'stale-sequence' when the stored sequence is not `expectedSequence`
   *   (also when another write changed it first).
   * @throws {ApiError} 'unavailable'.
   */
  updateDeviceList(change: DeviceListChange): Promise<AccountRecord>;
  /**
   * Deletes everything of the account and keeps its skeleton so the name is never reused; an
   * unknown account is no error.
   * @throws {ApiError} 'unavailable'.
   */
  deleteAccount(accountId: AccountId, now: number): Promise<void>;
  /** Records that the AccountLog confirmed `sequence`; never moves back. @throws {ApiError} 'unavailable'. */
  markLogged(accountId: AccountId, sequence: bigint): Promise<void>;
  /**
   * Accounts whose newest sequence the AccountLog has not confirmed (after a crash).
   * @throws {ApiError} 'unavailable'.
   */
  accountsAwaitingLog(): Promise<AccountRecord[]>;
  /**
   * The simple AccountLog's records (until key transparency backs the log); a version
   * already recorded is kept as it was.
   * @throws {ApiError} 'unavailable'.
   */
  appendAccountUpdate(update: AccountUpdate): Promise<void>;
  /** @throws {ApiError} 'unavailable'. */
  accountUpdates(username: string): Promise<AccountUpdate[]>;
  /**
   * Account updates (any node's) not yet marked logged by a shared key transparency log's
   * writer, oldest first, at most `limit`, each with its position in the account log.
   * @throws {ApiError} 'unavailable'.
   */
  accountUpdatesNotLogged(limit: number): Promise<(AccountUpdate & { readonly seq: number })[]>;
  /**
   * Marks account updates, by position, as logged by the shared log's writer.
   * @throws {ApiError} 'unavailable'.
   */
  markUpdatesLogged(seqs: readonly number[]): Promise<void>;

  // Invites: codes are stored as SHA-256 hashes.
  /**
   * Adds invite codes, or sets the uses and expiry of codes already there.
   * @throws {ApiError} 'unavailable'.
   */
  addInvites(codeHashes: readonly Uint8Array[], uses: number, expiresAt: number): Promise<void>;

  // Sessions: tokens are stored as SHA-256 hashes.
  /**
   * Records an open sign-in challenge (by the SHA-256 of its nonce) until it expires.
   * @throws {ApiError} 'unavailable'.
   */
  addChallenge(nonceHash: Uint8Array, expiresAt: number): Promise<void>;
  /**
   * Removes a challenge and returns its expiry: each is answered at most once, on any node.
   * @throws {ApiError} 'unavailable'.
   */
  takeChallenge(nonceHash: Uint8Array): Promise<number | undefined>;
  /** @throws {ApiError} 'unavailable'. */
  createSession(tokenHash: Uint8Array, mailbox: MailboxKey, expiresAt: number): Promise<void>;
  /** The live session of a device that still exists. @throws {ApiError} 'unavailable'. */
  sessionByTokenHash(tokenHash: Uint8Array, now: number): Promise<SessionRecord | undefined>;

  // Key packages.
  /**
   * Stores a device's packages (a new last resort replaces the old one); all or nothing.
   * @throws {ApiError} 'too-large' when the device would hold more than `maxOneTime` live
   *   one-time packages.
   * @throws {ApiError} 'conflict' when a package was uploaded or claimed before, or is in
   *   the upload twice.
   * @throws {ApiError} 'unavailable'.
   */
  addKeyPackages(input: KeyPackageUpload): Promise<KeyPackageCount>;
  /** @throws {ApiError} 'unavailable'. */
  countKeyPackages(mailbox: MailboxKey, now: number): Promise<KeyPackageCount>;
  /**
   * Hands out one key package per device (one-time first) and records each claim: its ref,
   * the target mailbox and the claiming device, one claim per claiming device of a ref.
   * A device without a live package gets none, which is no error.
   * @throws {ApiError} 'unavailable'.
   */
  claimKeyPackages(input: KeyPackageClaim): Promise<ClaimResult[]>;

  // Groups and messages.
  /**
   * Registers a group at epoch 0 with the creator's mailbox.
   * @throws {ApiError} 'conflict' when the id was ever used.
   * @throws {ApiError} 'unavailable'.
   */
  createGroup(groupId: Uint8Array, creator: MailboxKey, now: number): Promise<RoutingList>;
  /**
   * The routing list, if `member` is on it.
   * @throws {ApiError} 'forbidden' when `member` is not on it, and for unknown groups.
   * @throws {ApiError} 'unavailable'.
   */
  routingList(groupId: Uint8Array, member: MailboxKey): Promise<RoutingList>;
  /**
   * Stores an application message or proposal for every other mailbox on the routing list;
   * a resend (same client id and content) is answered as before, as a duplicate.
   * @throws {ApiError} 'conflict' when the client id was used with other content.
   * @throws {ApiError} 'forbidden' when the sender is not on the routing list.
   * @throws {ApiError} 'unavailable'.
   */
  storeMessage(input: MessageInput): Promise<AcceptedSend>;
  /**
   * Epoch compare-and-set; commit, Welcome and routing-list change in one transaction, all
   * or nothing. The Welcome goes only to packages the sender claimed (see
   * CommitInput.welcome). A resend is answered as before, as a duplicate.
   * @throws {ApiError} 'conflict' when the client id was used with other content.
   * @throws {ApiError} 'forbidden' when the sender is not on the routing list.
   * @throws {ApiError} 'stale-epoch' when `epoch` is not the group's current epoch (also when
   *   another commit took it first).
   * @throws {ApiError} 'unknown-key-package' when the Welcome names a package without a live
   *   claim by the committing device.
   * @throws {ApiError} 'malformed' when the commit removes the committer itself.
   * @throws {ApiError} 'too-large' when the routing list would exceed `maxMembers`.
   * @throws {ApiError} 'unavailable'.
   */
  sequenceCommit(input: CommitInput): Promise<AcceptedSend>;
  /**
   * Undelivered entries of a mailbox after `afterSeq`, oldest first, leaving out the
   * positions in `excluding` (what the caller's connection already sent). With several
   * nodes an entry can become visible after one with a higher position, so a reader that
   * must not miss one reads from 0 and excludes what it sent rather than reading after the
   * highest position it saw.
   * @throws {ApiError} 'unavailable'.
   */
  pendingDeliveries(
    mailbox: MailboxKey,
    afterSeq: number,
    limit: number,
    now: number,
    excluding?: readonly number[],
  ): Promise<StoredDelivery[]>;
  /**
   * Deletes acknowledged entries of this mailbox only; returns how many existed. Ids that
   * are not this mailbox's delete nothing and are no error.
   * @throws {ApiError} 'unavailable'.
   */
  ack(mailbox: MailboxKey, messageIds: readonly Uint8Array[]): Promise<number>;

  // Attachments (metadata; the blobs live on disk).
  /**
   * Records an attachment. Ids are random: one already stored is a bug, and fails with the
   * driver's unique-key error rather than an ApiError.
   * @throws {ApiError} 'unavailable'.
   */
  createAttachment(record: AttachmentRecord, owner: MailboxKey): Promise<void>;
  /** The attachment, until it expires. @throws {ApiError} 'unavailable'. */
  attachment(id: Uint8Array, now: number): Promise<AttachmentRecord | undefined>;

  /** Removes everything past its expiry. @throws {ApiError} 'unavailable'. */
  purgeExpired(now: number): Promise<PurgeResult>;
  /** Refuses new writes ('unavailable') at once, lets the queued ones land, then closes. Throws nothing. */
  close(): Promise<void>;
}
