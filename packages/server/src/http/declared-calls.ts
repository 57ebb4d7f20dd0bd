// Every call a route handler makes that may fail, with the codes it may throw: the path
// parameters, the services, rate limits and key transparency. This is where "what can this
// throw" is written down for the HTTP side, read from the services and the store they call
// (besides everyRouteErrors: `unavailable` from a store out of reach, `internal` for a bug).
// Handlers get only these calls, not the services, so each error they can produce passes
// through a declaration that their route's `fail` must admit.
import type { IncomingMessage } from 'node:http';
import {
  API_VERSION,
  ApiError,
  attachmentIdParam,
  canonicalUsername,
  countParam,
  usernameParam,
  type MessageInitShape,
  type ServerInfoSchema,
} from '@ghostproof/api';
import { supportedCiphersuites } from '@ghostproof/crypto';
import { KtError } from '@ghostproof/kt';
import type { KeyTransparency } from '../kt/key-transparency.js';
import type { AccountService, Session } from '../services/accounts.js';
import type { AttachmentService } from '../services/attachments.js';
import type { ServiceContext } from '../services/context.js';
import type { KeyPackageService } from '../services/key-packages.js';
import { readBody } from './io.js';
import { mayThrow } from './route-call.js';

export interface CallDeps {
  readonly ctx: ServiceContext;
  readonly accounts: AccountService;
  readonly keyPackages: KeyPackageService;
  readonly attachments: AttachmentService;
  /** Key transparency; undefined when disabled (its routes then answer not-found). */
  readonly kt: KeyTransparency | undefined;
}

/** What a device list, signed and checked, may be refused for (verifySignedDeviceList). */
const signedDeviceListErrors = ['malformed', 'too-large', 'invalid-username', 'bad-signature'] as const;
/** What proving from the KT log may answer: KtErrors become not-found or malformed. */
const proofErrors = ['not-found', 'malformed', 'unavailable'] as const;

export function declareCalls(deps: CallDeps) {
  const { ctx, accounts, keyPackages, attachments, kt } = deps;
  const { config } = ctx;

  function requireKt(): KeyTransparency {
    if (!kt) throw new ApiError('not-found', 'key transparency: not enabled on this server');
    return kt;
  }

  /** A proof, or the KtError that says why there is none, as a typed API error. */
  async function proof(make: (kt: KeyTransparency) => Promise<Uint8Array>): Promise<Uint8Array> {
    const log = requireKt();
    try {
      return await make(log);
    } catch (error) {
      if (KtError.is(error, 'not-found'))
        throw new ApiError('not-found', 'key transparency: nothing to prove');
      if (KtError.is(error)) throw new ApiError('malformed', 'key transparency: request out of range');
      throw error;
    }
  }

  const lookupKey = (session: Session) => `${session.accountId}/${session.deviceId}`;

  return {
    usernameParam: mayThrow(['invalid-username'], usernameParam),
    countParam: mayThrow(['malformed'], countParam),
    attachmentIdParam: mayThrow(['malformed'], attachmentIdParam),
    /** A request that must have no body. */
    emptyBody: mayThrow(['too-large'], (req: IncomingMessage) => readBody(req, 0)),

    serverInfo: mayThrow([], (): MessageInitShape<typeof ServerInfoSchema> => {
      const l = config.limits;
      return {
        origin: ctx.origin(),
        apiVersion: API_VERSION,
        inviteRequired: config.invites.required,
        cipherSuites: [...supportedCiphersuites],
        limits: {
          applicationMessageBytes: l.applicationMessageBytes,
          handshakeMessageBytes: l.handshakeMessageBytes,
          welcomeBytes: l.welcomeBytes,
          frameBytes: l.frameBytes,
          attachmentBytes: BigInt(l.attachmentBytes),
          keyPackageBytes: l.keyPackageBytes,
          keyPackagesPerUpload: l.keyPackagesPerUpload,
          oneTimeKeyPackagesPerDevice: l.oneTimeKeyPackagesPerDevice,
          messageTtlMs: BigInt(config.messageTtlMs),
          attachmentTtlMs: BigInt(config.attachmentTtlMs),
          ackBatch: l.ackBatch,
        },
      };
    }),

    register: mayThrow(
      [
        ...signedDeviceListErrors,
        'rate-limited',
        'reserved-username',
        'stale-sequence',
        'invite-required',
        'username-taken',
        'unavailable',
      ],
      (signedDeviceList: Uint8Array, inviteCode: string, address: string) =>
        accounts.register(signedDeviceList, inviteCode, address),
    ),
    challenge: mayThrow(['rate-limited', 'unavailable'], (address: string) => accounts.challenge(address)),
    signIn: mayThrow(
      ['invalid-username', 'rate-limited', 'unauthenticated'],
      (request: Parameters<AccountService['signIn']>[0], address: string) =>
        accounts.signIn({ ...request, username: canonicalUsername(request.username) }, address),
    ),
    deviceList: mayThrow(['rate-limited', 'not-found'], (session: Session, username: string) =>
      accounts.deviceList(session, username),
    ),
    updateDeviceList: mayThrow(
      [
        ...signedDeviceListErrors,
        'unauthenticated',
        'forbidden',
        'stale-sequence',
        'not-found',
        'unavailable',
      ],
      (session: Session, signedDeviceList: Uint8Array) =>
        accounts.updateDeviceList(session, signedDeviceList),
    ),
    deleteAccount: mayThrow(
      ['unauthenticated', 'bad-signature', 'unavailable'],
      (session: Session, signature: Uint8Array) => accounts.deleteAccount(session, signature),
    ),

    uploadKeyPackages: mayThrow(
      [
        'rate-limited',
        'unauthenticated',
        'malformed',
        'too-large',
        'unsupported',
        'forbidden',
        'bad-signature',
        'conflict',
      ],
      (session: Session, oneTime: readonly Uint8Array[], lastResort: Uint8Array | undefined) =>
        keyPackages.upload(session, oneTime, lastResort),
    ),
    countKeyPackages: mayThrow([], (session: Session) => keyPackages.count(session)),
    claimKeyPackages: mayThrow(
      ['invalid-username', 'rate-limited', 'not-found'],
      (session: Session, username: string, deviceIds: readonly number[]) =>
        keyPackages.claim(session, canonicalUsername(username), deviceIds),
    ),

    uploadAttachment: mayThrow(
      ['rate-limited', 'too-large', 'malformed'],
      (session: Session, req: IncomingMessage) => {
        const declared = req.headers['content-length'];
        const length = declared === undefined ? undefined : Number(declared);
        if (length !== undefined && !Number.isSafeInteger(length))
          throw new ApiError('malformed', 'Content-Length');
        return attachments.upload(session, req, length);
      },
    ),
    openAttachment: mayThrow(
      ['rate-limited', 'not-found'],
      (id: Uint8Array, capability: string | undefined, address: string) =>
        attachments.open(id, capability, address),
    ),

    /** KT lookups count against the same limit as device-list lookups. */
    takeLookup: mayThrow(['rate-limited'], (session: Session) =>
      ctx.limiters.lookupsPerRequester.take(lookupKey(session)),
    ),
    ktKeys: mayThrow(['not-found', 'unavailable'], () => requireKt().publicKeys),
    ktCheckpoint: mayThrow(['not-found', 'unavailable'], () => requireKt().checkpoint()),
    ktLookup: mayThrow(proofErrors, (username: string) => proof((log) => log.lookup(username))),
    ktMonitor: mayThrow(proofErrors, (username: string, from: number) =>
      proof((log) => log.monitor(username, from)),
    ),
    ktAudit: mayThrow(proofErrors, (from: number, to: number) => proof((log) => log.audit(from, to))),
    ktConsistency: mayThrow(proofErrors, (from: number, to: number) =>
      proof((log) => log.consistency(from, to)),
    ),
  };
}

export type DeclaredCalls = ReturnType<typeof declareCalls>;
