// Accounts: registration (username, identity key and first device, in a signed device
// list), sign-in by challenge and device signature, sessions, device-list changes, lookups
// and deletion. Every accepted update goes to the AccountLog, the hook of key transparency.
import { randomBytes } from 'node:crypto';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  accountDeletionSignatureInput,
  ApiError,
  NONCE_LENGTH,
  registrableUsername,
  SESSION_TOKEN_LENGTH,
  signInSignatureInput,
  usernameSkeleton,
  verifySignedDeviceList,
  type DeviceList,
} from '@ghostproof/api';
import { describeError } from '../logger.js';
import type { AccountRecord, AccountUpdate, MailboxKey } from '../storage/store.js';
import { sha256, type ServiceContext } from './context.js';

const ed25519 = platformPrimitives.ed25519;
const verify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
  ed25519.verify(publicKey, message, signature);

/** A signed-in device. */
export interface Session extends MailboxKey {
  readonly username: string;
}

/** Most challenges one node hands out per challenge lifetime (they cost a stored row each). */
const MAX_OPEN_CHALLENGES = 100_000;

function signInFailed(): ApiError {
  // One answer for every reason: no such account, no such device, bad signature, stale nonce.
  return new ApiError('unauthenticated', 'sign-in failed');
}

export class AccountService {
  /**
   * Expiry times of the challenges this node handed out, oldest first: only to bound how
   * many are open. The challenges themselves are in the store, so that the sign-in that
   * answers one may reach any node; each is taken from there once.
   */
  private issued: number[] = [];
  private decoyKey: Uint8Array | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    /** Closes the live connection of a mailbox whose device or account is gone. */
    private readonly disconnect: (mailbox: MailboxKey) => void,
  ) {}

  async register(signedDeviceList: Uint8Array, inviteCode: string, address: string): Promise<AccountRecord> {
    const { config, store, limiters } = this.ctx;
    limiters.registrationsPerAddress.take(address);
    const list = await verifySignedDeviceList(signedDeviceList, verify);
    if (registrableUsername(list.username) !== list.username) {
      throw new ApiError('invalid-username', 'username: not canonical');
    }
    if (list.sequence !== 1n)
      throw new ApiError('stale-sequence', 'registration: the device list starts at sequence 1');
    if (list.devices.length !== 1)
      throw new ApiError('malformed', 'registration: exactly one (the first) device');
    if (config.invites.required && inviteCode.length === 0) {
      throw new ApiError('invite-required', 'registration: this server requires an invite code');
    }
    const account = await store.createAccount({
      username: list.username,
      skeleton: usernameSkeleton(list.username),
      identityKey: list.identityKey,
      signedDeviceList,
      devices: list.devices.map((d) => ({ deviceId: d.id, signatureKey: d.signatureKey })),
      ...(config.invites.required ? { inviteHash: sha256(inviteCode) } : {}),
      now: this.ctx.now(),
    });
    await this.log(account.id, {
      username: account.username,
      version: 1n,
      signedDeviceList,
      at: this.ctx.now(),
    });
    return account;
  }

  /** Hands the update to the AccountLog and records that it did. */
  private async log(accountId: number | undefined, update: AccountUpdate): Promise<void> {
    try {
      await this.ctx.accountLog.append(update);
    } catch (error) {
      // The update stands in the store; startup reconciliation appends it again.
      this.ctx.log.error(
        { event: 'account-log-failed', err: describeError(error) },
        'account log append failed',
      );
      throw new ApiError('unavailable', 'account log unavailable; the update will be logged later', {
        retryAfterMs: 5000,
      });
    }
    if (accountId !== undefined) await this.ctx.store.markLogged(accountId, update.version);
  }

  /** Appends versions the log never confirmed (the process stopped in between). */
  async reconcileLog(): Promise<number> {
    const pending = await this.ctx.store.accountsAwaitingLog();
    for (const account of pending) {
      await this.log(account.id, {
        username: account.username,
        version: account.sequence,
        signedDeviceList: account.signedDeviceList,
        at: this.ctx.now(),
      });
    }
    return pending.length;
  }

  async challenge(address: string): Promise<{ serverNonce: Uint8Array; expiresAt: number }> {
    this.ctx.limiters.signInsPerAddress.take(address);
    const now = this.ctx.now();
    this.sweepChallenges();
    if (this.issued.length >= MAX_OPEN_CHALLENGES) {
      throw new ApiError('unavailable', 'too many open sign-ins', {
        retryAfterMs: this.ctx.config.challengeTtlMs,
      });
    }
    const serverNonce = new Uint8Array(randomBytes(NONCE_LENGTH));
    const expiresAt = now + this.ctx.config.challengeTtlMs;
    this.issued.push(expiresAt);
    await this.ctx.store.addChallenge(sha256(serverNonce), expiresAt);
    return { serverNonce, expiresAt };
  }

  /** Forgets the expired challenges of the bound (the store's sweep deletes their rows). */
  sweepChallenges(): void {
    const now = this.ctx.now();
    let expired = 0;
    while (expired < this.issued.length && this.issued[expired]! <= now) expired++;
    if (expired > 0) this.issued = this.issued.slice(expired);
  }

  async signIn(
    request: {
      username: string;
      deviceId: number;
      serverNonce: Uint8Array;
      clientNonce: Uint8Array;
      signature: Uint8Array;
    },
    address: string,
  ): Promise<{ token: Uint8Array; expiresAt: number; session: Session }> {
    const { store, limiters, config } = this.ctx;
    limiters.signInsPerAddress.take(address);
    const now = this.ctx.now();
    // Single use, whatever the outcome, and on whichever node it was handed out.
    const nonceExpiry = await store.takeChallenge(sha256(request.serverNonce));
    const account = await store.accountByUsername(request.username);
    const device = account?.devices.find((d) => d.deviceId === request.deviceId);
    const input = signInSignatureInput({
      origin: this.ctx.origin(),
      serverNonce: request.serverNonce,
      clientNonce: request.clientNonce,
      username: request.username,
      deviceId: request.deviceId,
    });
    // Verify even when there is nothing to verify against, so that timing does not tell a
    // missing account from a wrong signature.
    const valid = await verify(device?.signatureKey ?? (await this.decoy()), input, request.signature);
    if (!account || !device || !valid || nonceExpiry === undefined || nonceExpiry <= now)
      throw signInFailed();
    const token = new Uint8Array(randomBytes(SESSION_TOKEN_LENGTH));
    const expiresAt = now + config.sessionTtlMs;
    const mailbox = { accountId: account.id, deviceId: device.deviceId };
    await store.createSession(sha256(token), mailbox, expiresAt);
    return { token, expiresAt, session: { ...mailbox, username: account.username } };
  }

  private async decoy(): Promise<Uint8Array> {
    this.decoyKey ??= (await ed25519.generate()).publicKey;
    return this.decoyKey;
  }

  /** The session a bearer token stands for, or 'unauthenticated'. */
  async authenticate(token: Uint8Array): Promise<Session> {
    if (token.length !== SESSION_TOKEN_LENGTH)
      throw new ApiError('unauthenticated', 'session: missing or invalid');
    const session = await this.ctx.store.sessionByTokenHash(sha256(token), this.ctx.now());
    if (!session) throw new ApiError('unauthenticated', 'session: missing, expired or revoked');
    return { accountId: session.accountId, deviceId: session.deviceId, username: session.username };
  }

  async deviceList(requester: Session, username: string): Promise<Uint8Array> {
    this.ctx.limiters.lookupsPerRequester.take(`${requester.accountId}/${requester.deviceId}`);
    const account = await this.ctx.store.accountByUsername(username);
    if (!account) throw new ApiError('not-found', 'account: not found');
    return account.signedDeviceList;
  }

  async updateDeviceList(session: Session, signedDeviceList: Uint8Array): Promise<AccountRecord> {
    const { store } = this.ctx;
    const current = await store.accountById(session.accountId);
    if (!current) throw new ApiError('unauthenticated', 'session: account gone');
    const next: DeviceList = await verifySignedDeviceList(signedDeviceList, verify);
    if (next.username !== current.username)
      throw new ApiError('forbidden', 'device list: for another account');
    if (Buffer.compare(Buffer.from(next.identityKey), Buffer.from(current.identityKey)) !== 0) {
      throw new ApiError('bad-signature', 'device list: not signed by the account identity key');
    }
    if (next.sequence !== current.sequence + 1n) {
      throw new ApiError('stale-sequence', 'device list: sequence must be the current one plus one');
    }
    if (current.loggedSequence < current.sequence) {
      throw new ApiError('unavailable', 'account log: the previous version is not logged yet', {
        retryAfterMs: 5000,
      });
    }
    const known = new Map(current.devices.map((d) => [d.deviceId, d]));
    for (const device of next.devices) {
      const existing = known.get(device.id);
      if (existing) {
        if (Buffer.compare(Buffer.from(existing.signatureKey), Buffer.from(device.signatureKey)) !== 0) {
          throw new ApiError('malformed', 'device list: a device kept its id but changed its key');
        }
      } else if (device.id <= current.maxDeviceId) {
        throw new ApiError('malformed', 'device list: new devices need ids never used on this account');
      }
    }
    const updated = await store.updateDeviceList({
      accountId: current.id,
      expectedSequence: current.sequence,
      sequence: next.sequence,
      signedDeviceList,
      devices: next.devices.map((d) => ({ deviceId: d.id, signatureKey: d.signatureKey })),
    });
    const kept = new Set(next.devices.map((d) => d.id));
    for (const d of current.devices) {
      if (!kept.has(d.deviceId)) this.disconnect({ accountId: current.id, deviceId: d.deviceId });
    }
    await this.log(updated.id, {
      username: updated.username,
      version: updated.sequence,
      signedDeviceList,
      at: this.ctx.now(),
    });
    return updated;
  }

  async deleteAccount(session: Session, signature: Uint8Array): Promise<void> {
    const { store } = this.ctx;
    const account = await store.accountById(session.accountId);
    if (!account) throw new ApiError('unauthenticated', 'session: account gone');
    const input = accountDeletionSignatureInput({
      origin: this.ctx.origin(),
      username: account.username,
      sequence: account.sequence,
    });
    if (!(await verify(account.identityKey, input, signature))) {
      throw new ApiError('bad-signature', 'account deletion: not signed by the identity key');
    }
    await store.deleteAccount(account.id, this.ctx.now());
    for (const d of account.devices) this.disconnect({ accountId: account.id, deviceId: d.deviceId });
    await this.log(undefined, {
      username: account.username,
      version: account.sequence + 1n,
      signedDeviceList: null,
      at: this.ctx.now(),
    });
  }
}
