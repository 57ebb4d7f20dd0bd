// Key packages: each device uploads one-time packages in batches plus one last-resort
// package; anyone signed in claims exactly one per device of an account (one-time first,
// then the last resort), within limits per requester and per target. The server checks what
// it can without MLS state: the package parses whole, its cipher suite is one we accept, its
// leaf's signature key is the uploading device's key from the signed device list, its
// signature verifies, and its lifetime is current. Every claim records KeyPackageRef →
// mailbox and the claiming device: a Welcome is later routed only through the committing
// device's own claims, so nobody can send a Welcome to a package someone else claimed.
import { platformPrimitives, supportedCiphersuites } from '@ghostproof/crypto';
import { ApiError, keyPackageRef, keyPackageSignatureInput, parseKeyPackage } from '@ghostproof/api';
import type { KeyPackageCount, StoredKeyPackage } from '../storage/store.js';
import type { Session } from './accounts.js';
import type { ServiceContext } from './context.js';

export interface ClaimOutcome {
  readonly keyPackages: { deviceId: number; keyPackage: Uint8Array; lastResort: boolean }[];
  /** Devices with no usable key package, and requested ids not on the account's list. */
  readonly missing: number[];
}

/** Clock skew tolerated on a package's not-before. */
const SKEW_SECONDS = 300n;

export class KeyPackageService {
  constructor(private readonly ctx: ServiceContext) {}

  private async check(bytes: Uint8Array, signatureKey: Uint8Array): Promise<StoredKeyPackage> {
    const parsed = parseKeyPackage(bytes, { maxBytes: this.ctx.config.limits.keyPackageBytes });
    if (!(supportedCiphersuites as readonly number[]).includes(parsed.cipherSuite)) {
      throw new ApiError('unsupported', 'key package: cipher suite not accepted here');
    }
    if (Buffer.compare(Buffer.from(parsed.signatureKey), Buffer.from(signatureKey)) !== 0) {
      throw new ApiError('forbidden', "key package: not signed with this device's key");
    }
    if (
      !(await platformPrimitives.ed25519.verify(
        signatureKey,
        keyPackageSignatureInput(parsed),
        parsed.signature,
      ))
    ) {
      throw new ApiError('bad-signature', 'key package: signature does not verify');
    }
    const nowSeconds = BigInt(Math.floor(this.ctx.now() / 1000));
    if (parsed.notBefore > nowSeconds + SKEW_SECONDS || parsed.notAfter <= nowSeconds) {
      throw new ApiError('malformed', 'key package: lifetime not current');
    }
    const notAfterMs =
      parsed.notAfter > BigInt(Number.MAX_SAFE_INTEGER) / 1000n
        ? Number.MAX_SAFE_INTEGER
        : Number(parsed.notAfter) * 1000;
    return {
      ref: await keyPackageRef(parsed, (hash, data) => platformPrimitives.digest(hash, data)),
      body: bytes,
      notAfter: notAfterMs,
    };
  }

  async upload(
    session: Session,
    oneTime: readonly Uint8Array[],
    lastResort: Uint8Array | undefined,
  ): Promise<KeyPackageCount> {
    const { store, limiters, config } = this.ctx;
    limiters.keyPackageUploadsPerDevice.take(`${session.accountId}/${session.deviceId}`);
    const account = await store.accountById(session.accountId);
    const device = account?.devices.find((d) => d.deviceId === session.deviceId);
    if (!device) throw new ApiError('unauthenticated', 'session: device gone');
    const checked: StoredKeyPackage[] = [];
    const refs = new Set<string>();
    for (const bytes of oneTime) {
      const kp = await this.check(bytes, device.signatureKey);
      const ref = Buffer.from(kp.ref).toString('hex');
      if (refs.has(ref)) throw new ApiError('conflict', 'key packages: the same package twice');
      refs.add(ref);
      checked.push(kp);
    }
    const last = lastResort ? await this.check(lastResort, device.signatureKey) : undefined;
    return store.addKeyPackages({
      mailbox: session,
      oneTime: checked,
      ...(last ? { lastResort: last } : {}),
      maxOneTime: config.limits.oneTimeKeyPackagesPerDevice,
      now: this.ctx.now(),
    });
  }

  async count(session: Session): Promise<KeyPackageCount> {
    return this.ctx.store.countKeyPackages(session, this.ctx.now());
  }

  async claim(session: Session, username: string, deviceIds: readonly number[]): Promise<ClaimOutcome> {
    const { store, limiters, config } = this.ctx;
    limiters.claimsPerRequester.take(`${session.accountId}/${session.deviceId}`);
    const target = await store.accountByUsername(username);
    if (!target) throw new ApiError('not-found', 'account: not found');
    const onList = new Set(target.devices.map((d) => d.deviceId));
    const wanted = deviceIds.length > 0 ? deviceIds.filter((id) => onList.has(id)) : [...onList];
    const notOnList = deviceIds.filter((id) => !onList.has(id));
    // One token per device claimed; checked before anything is handed out.
    for (const id of wanted) limiters.claimsPerTarget.take(`${target.id}/${id}`);
    const now = this.ctx.now();
    const claimed = await store.claimKeyPackages({
      target: target.id,
      deviceIds: wanted,
      claimer: session,
      now,
      claimExpiresAt: now + config.claimTtlMs,
    });
    return {
      keyPackages: claimed
        .filter((c) => c.keyPackage !== undefined)
        .map((c) => ({ deviceId: c.deviceId, keyPackage: c.keyPackage!, lastResort: c.lastResort })),
      missing: [...claimed.filter((c) => c.keyPackage === undefined).map((c) => c.deviceId), ...notOnList],
    };
  }
}
