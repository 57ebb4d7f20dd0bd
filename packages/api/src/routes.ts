// The HTTP routes of API version 1: method, path, who may call, body schema and limit, the
// checks the schema cannot express, and the error codes each route answers with. Bodies are
// Protocol Buffers (`application/x-protobuf`), except attachment blobs. The server answers
// every route through decodeRequest (route-codec.ts), so a request is checked in full before
// any handler sees it; a client can run the same checks before sending.
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { ApiError, type ApiErrorCode } from './errors.js';
import * as pb from './gen/ghostproof/api/v1/api_pb.js';
import type { Limits } from './limits.js';
import { NONCE_LENGTH } from './signatures.js';
import { canonicalUsername } from './username.js';
import { ED25519_SIGNATURE_LENGTH } from './device-list.js';

export const API_VERSION = 1;
export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';
/** Header carrying an attachment's capability token on download. */
export const CAPABILITY_HEADER = 'ghostproof-capability';
/** Header naming the error code of a failed HTTP request (the body holds an ErrorBody too). */
export const ERROR_CODE_HEADER = 'ghostproof-error';
/** The WebSocket endpoint. */
export const WEBSOCKET_PATH = '/v1/ws';

/** Who may call: anyone, a signed-in device (Authorization: Bearer), or a capability holder. */
export type RouteAuth = 'none' | 'session' | 'capability';

/**
 * Codes every route may answer with besides its own: the server is shutting down or its
 * storage is out of reach (`unavailable`), or it has a bug (`internal`).
 */
export const everyRouteErrors = ['unavailable', 'internal'] as const satisfies readonly ApiErrorCode[];
export type EveryRouteError = (typeof everyRouteErrors)[number];

export interface Route<
  Req extends DescMessage | null = DescMessage | null,
  Res extends DescMessage | null = DescMessage | null,
  E extends ApiErrorCode = ApiErrorCode,
> {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Path template; `{name}` segments are parameters. */
  readonly path: string;
  readonly auth: RouteAuth;
  /** Protobuf request body, or null for no body (or a raw blob, see uploadAttachment). */
  readonly request: Req;
  readonly response: Res;
  /** Largest request body; 0 for none. A raw blob's limit is the server's attachment limit. */
  readonly maxRequestBytes: (limits: Limits) => number;
  /**
   * Every error code this route answers with, besides everyRouteErrors: the checks at the
   * boundary (body size and schema, session, path parameters, rate limits) and those of the
   * services it calls. The server's handler for it can produce no other code (its type
   * admits none), and docs/api.md's route table is generated from these lists.
   */
  readonly errors: readonly E[];
  /** Rules beyond the schema, run after decoding. */
  readonly validate?: (body: Req extends DescMessage ? MessageShape<Req> : never, limits: Limits) => void;
}

/** Every code a route may answer with: its own and everyRouteErrors. */
export type RouteErrorCode<R extends Route> =
  R extends Route<DescMessage | null, DescMessage | null, infer E> ? E | EveryRouteError : never;

/** The codes of RouteErrorCode, at run time. */
export function routeErrors(r: Route): readonly ApiErrorCode[] {
  return [...r.errors, ...everyRouteErrors.filter((code) => !r.errors.includes(code))];
}

function route<Req extends DescMessage | null, Res extends DescMessage | null, E extends ApiErrorCode>(
  r: Route<Req, Res, E>,
): Route<Req, Res, E> {
  return r;
}

function exact(what: string, value: Uint8Array, length: number): void {
  if (value.length !== length) throw new ApiError('malformed', `${what}: expected ${length} bytes`);
}

function bounded(what: string, value: Uint8Array, max: number): void {
  if (value.length === 0) throw new ApiError('malformed', `${what}: missing`);
  if (value.length > max) throw new ApiError('too-large', `${what}: over ${max} bytes`);
}

const SIGNED_DEVICE_LIST_MAX = 4096;
const INVITE_CODE_MAX = 128;

export const routes = {
  serverInfo: route({
    name: 'serverInfo',
    method: 'GET',
    path: '/v1/info',
    auth: 'none',
    request: null,
    response: pb.ServerInfoSchema,
    maxRequestBytes: () => 0,
    errors: [],
  }),
  register: route({
    name: 'register',
    method: 'POST',
    path: '/v1/accounts',
    auth: 'none',
    request: pb.RegisterRequestSchema,
    response: pb.RegisterResponseSchema,
    maxRequestBytes: () => 8 * 1024,
    errors: [
      'malformed',
      'too-large',
      'invalid-username',
      'reserved-username',
      'bad-signature',
      'username-taken',
      'invite-required',
      'stale-sequence',
      'rate-limited',
    ],
    validate(body) {
      bounded('signed device list', body.signedDeviceList, SIGNED_DEVICE_LIST_MAX);
      if (body.inviteCode.length > INVITE_CODE_MAX) throw new ApiError('too-large', 'invite code: too long');
    },
  }),
  challenge: route({
    name: 'challenge',
    method: 'POST',
    path: '/v1/session/challenge',
    auth: 'none',
    request: null,
    response: pb.ChallengeSchema,
    maxRequestBytes: () => 0,
    errors: ['too-large', 'rate-limited'],
  }),
  signIn: route({
    name: 'signIn',
    method: 'POST',
    path: '/v1/session',
    auth: 'none',
    request: pb.SignInRequestSchema,
    response: pb.SignInResponseSchema,
    maxRequestBytes: () => 1024,
    errors: ['malformed', 'too-large', 'invalid-username', 'unauthenticated', 'rate-limited'],
    validate(body) {
      canonicalUsername(body.username);
      if (body.deviceId < 1 || body.deviceId > 0x7fffffff)
        throw new ApiError('malformed', 'device id: out of range');
      exact('server nonce', body.serverNonce, NONCE_LENGTH);
      exact('client nonce', body.clientNonce, NONCE_LENGTH);
      exact('signature', body.signature, ED25519_SIGNATURE_LENGTH);
    },
  }),
  getDeviceList: route({
    name: 'getDeviceList',
    method: 'GET',
    path: '/v1/accounts/{username}/devices',
    auth: 'session',
    request: null,
    response: pb.DeviceListResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['invalid-username', 'unauthenticated', 'not-found', 'rate-limited'],
  }),
  updateDeviceList: route({
    name: 'updateDeviceList',
    method: 'PUT',
    path: '/v1/accounts/me/devices',
    auth: 'session',
    request: pb.UpdateDeviceListRequestSchema,
    response: pb.UpdateDeviceListResponseSchema,
    maxRequestBytes: () => 8 * 1024,
    errors: [
      'malformed',
      'too-large',
      'invalid-username',
      'bad-signature',
      'unauthenticated',
      'forbidden',
      'not-found',
      'stale-sequence',
    ],
    validate(body) {
      bounded('signed device list', body.signedDeviceList, SIGNED_DEVICE_LIST_MAX);
    },
  }),
  deleteAccount: route({
    name: 'deleteAccount',
    method: 'POST',
    path: '/v1/accounts/me/delete',
    auth: 'session',
    request: pb.DeleteAccountRequestSchema,
    response: pb.DeleteAccountResponseSchema,
    maxRequestBytes: () => 1024,
    errors: ['malformed', 'too-large', 'bad-signature', 'unauthenticated'],
    validate(body) {
      exact('signature', body.signature, ED25519_SIGNATURE_LENGTH);
    },
  }),
  uploadKeyPackages: route({
    name: 'uploadKeyPackages',
    method: 'POST',
    path: '/v1/keys',
    auth: 'session',
    request: pb.UploadKeyPackagesRequestSchema,
    response: pb.KeyPackageCountSchema,
    maxRequestBytes: (limits) => (limits.keyPackagesPerUpload + 1) * (limits.keyPackageBytes + 8) + 1024,
    errors: [
      'malformed',
      'too-large',
      'bad-signature',
      'unauthenticated',
      'forbidden',
      'conflict',
      'unsupported',
      'rate-limited',
    ],
    validate(body, limits) {
      if (body.oneTime.length > limits.keyPackagesPerUpload) {
        throw new ApiError('too-large', `key packages: over ${limits.keyPackagesPerUpload} in one upload`);
      }
      if (body.oneTime.length === 0 && body.lastResort.length === 0) {
        throw new ApiError('malformed', 'key packages: nothing to upload');
      }
      for (const kp of body.oneTime) bounded('key package', kp, limits.keyPackageBytes);
      if (body.lastResort.length > limits.keyPackageBytes)
        throw new ApiError('too-large', 'key package: too large');
    },
  }),
  countKeyPackages: route({
    name: 'countKeyPackages',
    method: 'GET',
    path: '/v1/keys',
    auth: 'session',
    request: null,
    response: pb.KeyPackageCountSchema,
    maxRequestBytes: () => 0,
    errors: ['unauthenticated'],
  }),
  claimKeyPackages: route({
    name: 'claimKeyPackages',
    method: 'POST',
    path: '/v1/keys/claim',
    auth: 'session',
    request: pb.ClaimKeyPackagesRequestSchema,
    response: pb.ClaimKeyPackagesResponseSchema,
    maxRequestBytes: () => 1024,
    errors: ['malformed', 'too-large', 'invalid-username', 'unauthenticated', 'not-found', 'rate-limited'],
    validate(body) {
      canonicalUsername(body.username);
      if (body.deviceIds.length > 16) throw new ApiError('too-large', 'claim: over 16 devices');
      const seen = new Set<number>();
      for (const id of body.deviceIds) {
        if (id < 1 || id > 0x7fffffff || seen.has(id))
          throw new ApiError('malformed', 'claim: bad device id');
        seen.add(id);
      }
    },
  }),
  uploadAttachment: route({
    name: 'uploadAttachment',
    method: 'POST',
    path: '/v1/attachments',
    auth: 'session',
    // The body is the encrypted blob itself (application/octet-stream), streamed.
    request: null,
    response: pb.AttachmentUploadedSchema,
    maxRequestBytes: (limits) => limits.attachmentBytes,
    errors: ['malformed', 'too-large', 'unauthenticated', 'rate-limited'],
  }),
  downloadAttachment: route({
    name: 'downloadAttachment',
    method: 'GET',
    path: '/v1/attachments/{id}',
    auth: 'capability',
    request: null,
    // The body is the blob (application/octet-stream).
    response: null,
    maxRequestBytes: () => 0,
    errors: ['malformed', 'not-found', 'rate-limited'],
  }),
  ktKeys: route({
    name: 'ktKeys',
    method: 'GET',
    path: '/v1/kt/keys',
    auth: 'none',
    request: null,
    response: pb.KtKeysResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['not-found'],
  }),
  ktCheckpoint: route({
    name: 'ktCheckpoint',
    method: 'GET',
    path: '/v1/kt/checkpoint',
    auth: 'none',
    request: null,
    response: pb.KtCheckpointResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['not-found'],
  }),
  ktLookup: route({
    name: 'ktLookup',
    method: 'GET',
    path: '/v1/kt/lookup/{username}',
    auth: 'session',
    request: null,
    response: pb.KtProofResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['malformed', 'invalid-username', 'unauthenticated', 'not-found', 'rate-limited'],
  }),
  ktMonitor: route({
    name: 'ktMonitor',
    method: 'GET',
    path: '/v1/kt/monitor/{username}/{from}',
    auth: 'session',
    request: null,
    response: pb.KtProofResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['malformed', 'invalid-username', 'unauthenticated', 'not-found', 'rate-limited'],
  }),
  ktAudit: route({
    name: 'ktAudit',
    method: 'GET',
    path: '/v1/kt/audit/{from}/{to}',
    auth: 'none',
    request: null,
    response: pb.KtProofResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['malformed', 'not-found'],
  }),
  ktConsistency: route({
    name: 'ktConsistency',
    method: 'GET',
    path: '/v1/kt/consistency/{from}/{to}',
    auth: 'none',
    request: null,
    response: pb.KtProofResponseSchema,
    maxRequestBytes: () => 0,
    errors: ['malformed', 'not-found'],
  }),
} as const;

export type RouteName = keyof typeof routes;
export const routeList: readonly Route[] = Object.values(routes);
