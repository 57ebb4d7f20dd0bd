// HTTP: the routes of @ghostproof/api (registration, sign-in, device lists, key packages,
// attachments), /health, /metrics and the page at `/`. Handlers are thin: they decode the
// checked request, call a service and encode its answer. Errors become responses in one
// place (sendError): the status and code from the error table, an ErrorBody, and the code
// in a header. Request bodies are bounded before they are read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  AttachmentUploadedSchema,
  ChallengeSchema,
  canonicalUsername,
  CAPABILITY_HEADER,
  ClaimKeyPackagesResponseSchema,
  decodeRequest,
  DeleteAccountResponseSchema,
  DeviceListResponseSchema,
  encodeResponse,
  ERROR_CODE_HEADER,
  ErrorBodySchema,
  countParam,
  fromBase64Url,
  KtCheckpointResponseSchema,
  KtKeysResponseSchema,
  KtProofResponseSchema,
  KeyPackageCountSchema,
  matchRoute,
  attachmentIdParam,
  PROTOBUF_CONTENT_TYPE,
  RegisterResponseSchema,
  routes,
  ServerInfoSchema,
  SESSION_TOKEN_LENGTH,
  SignInResponseSchema,
  UpdateDeviceListResponseSchema,
  usernameParam,
  API_VERSION,
  type DescMessage,
  type MessageShape,
  type Route,
} from '@ghostproof/api';
import { supportedCiphersuites } from '@ghostproof/crypto';
import { KtError } from '@ghostproof/kt';
import type { KeyTransparency } from '../kt/key-transparency.js';
import { describeError, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccountService, Session } from '../services/accounts.js';
import type { AttachmentService } from '../services/attachments.js';
import type { ServiceContext } from '../services/context.js';
import type { KeyPackageService } from '../services/key-packages.js';
import { placeholderPage, setSecurityHeaders } from './headers.js';
import type { WebClient } from './web-client.js';

export interface HttpDeps {
  readonly ctx: ServiceContext;
  readonly accounts: AccountService;
  readonly keyPackages: KeyPackageService;
  readonly attachments: AttachmentService;
  /** Key transparency; undefined when disabled (its routes then answer not-found). */
  readonly kt: KeyTransparency | undefined;
  /** The web client's files, when the server serves a build (config.webRoot). */
  readonly web?: WebClient | undefined;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** False while shutting down: /health says so and new requests are refused. */
  readonly accepting: () => boolean;
}

/** The address rate limits are keyed on; never logged. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const value = Array.isArray(forwarded) ? forwarded.at(-1) : forwarded;
    const last = value?.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** Reads a whole request body, refusing it as soon as it passes `max` bytes. */
async function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max)
    throw new ApiError('too-large', `request body: over ${max} bytes`);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > max) throw new ApiError('too-large', `request body: over ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

function sendProtobuf(res: ServerResponse, status: number, body: Uint8Array): void {
  res.writeHead(status, { 'Content-Type': PROTOBUF_CONTENT_TYPE, 'Content-Length': body.length });
  res.end(body);
}

interface RouteCall {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Record<string, string>;
  readonly address: string;
  readonly session: Session | undefined;
}

export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { ctx, accounts, keyPackages, attachments, kt, metrics, log } = deps;

  function requireKt(): KeyTransparency {
    if (!kt) throw new ApiError('not-found', 'key transparency: not enabled on this server');
    return kt;
  }

  /** A proof, or the KtError that says why there is none, as a typed API error. */
  async function proof(make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    try {
      return await make();
    } catch (error) {
      if (KtError.is(error, 'not-found'))
        throw new ApiError('not-found', 'key transparency: nothing to prove');
      if (KtError.is(error)) throw new ApiError('malformed', 'key transparency: request out of range');
      throw error;
    }
  }
  const { config } = ctx;
  const tls = config.tls !== undefined;

  function sendError(res: ServerResponse, routeName: string, error: unknown): void {
    let apiError: ApiError;
    if (ApiError.is(error)) {
      apiError = error;
    } else {
      log.error(
        { event: 'http-internal-error', route: routeName, err: describeError(error) },
        'internal error',
      );
      apiError = new ApiError('internal', 'internal error');
    }
    metrics.errors.inc({ code: apiError.code });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.setHeader(ERROR_CODE_HEADER, apiError.code);
    if (apiError.retryAfterMs !== undefined) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(apiError.retryAfterMs / 1000))));
    }
    // An unread body (a refused upload) would keep the connection busy: close it.
    if (!res.req.complete) res.setHeader('Connection', 'close');
    sendProtobuf(
      res,
      apiError.status,
      encodeResponse(ErrorBodySchema, {
        code: apiError.code,
        message: apiError.message,
        retryAfterMs: BigInt(apiError.retryAfterMs ?? 0),
      }),
    );
  }

  async function body<Req extends DescMessage>(
    call: RouteCall,
    route: Route<Req, DescMessage | null>,
  ): Promise<MessageShape<Req>> {
    const bytes = await readBody(call.req, route.maxRequestBytes(config.limits));
    return decodeRequest(route, bytes, config.limits);
  }

  async function sessionOf(req: IncomingMessage): Promise<Session> {
    const header = req.headers.authorization;
    const match = header?.match(/^Bearer ([A-Za-z0-9_-]{1,64})$/);
    if (!match) throw new ApiError('unauthenticated', 'session: missing');
    let token: Uint8Array;
    try {
      token = fromBase64Url(match[1]!, 'session token', SESSION_TOKEN_LENGTH);
    } catch {
      throw new ApiError('unauthenticated', 'session: missing or invalid');
    }
    return accounts.authenticate(token);
  }

  const handlers: Record<string, (call: RouteCall) => Promise<void>> = {
    async serverInfo({ res }) {
      const l = config.limits;
      sendProtobuf(
        res,
        200,
        encodeResponse(ServerInfoSchema, {
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
        }),
      );
    },
    async register(call) {
      const req = await body(call, routes.register);
      const account = await accounts.register(req.signedDeviceList, req.inviteCode, call.address);
      sendProtobuf(
        call.res,
        200,
        encodeResponse(RegisterResponseSchema, { username: account.username, sequence: 1n }),
      );
    },
    async challenge(call) {
      await readBody(call.req, 0);
      const { serverNonce, expiresAt } = await accounts.challenge(call.address);
      sendProtobuf(
        call.res,
        200,
        encodeResponse(ChallengeSchema, { serverNonce, expiresAtMs: BigInt(expiresAt) }),
      );
    },
    async signIn(call) {
      const req = await body(call, routes.signIn);
      const { token, expiresAt, session } = await accounts.signIn(
        { ...req, username: canonicalUsername(req.username) },
        call.address,
      );
      sendProtobuf(
        call.res,
        200,
        encodeResponse(SignInResponseSchema, {
          sessionToken: token,
          expiresAtMs: BigInt(expiresAt),
          mailbox: { username: session.username, deviceId: session.deviceId },
        }),
      );
    },
    async getDeviceList(call) {
      const username = usernameParam(call.params.username!);
      const signedDeviceList = await accounts.deviceList(call.session!, username);
      sendProtobuf(call.res, 200, encodeResponse(DeviceListResponseSchema, { signedDeviceList }));
    },
    async updateDeviceList(call) {
      const req = await body(call, routes.updateDeviceList);
      const account = await accounts.updateDeviceList(call.session!, req.signedDeviceList);
      sendProtobuf(
        call.res,
        200,
        encodeResponse(UpdateDeviceListResponseSchema, { sequence: account.sequence }),
      );
    },
    async deleteAccount(call) {
      const req = await body(call, routes.deleteAccount);
      await accounts.deleteAccount(call.session!, req.signature);
      sendProtobuf(call.res, 200, encodeResponse(DeleteAccountResponseSchema, {}));
    },
    async uploadKeyPackages(call) {
      const req = await body(call, routes.uploadKeyPackages);
      const count = await keyPackages.upload(
        call.session!,
        req.oneTime,
        req.lastResort.length > 0 ? req.lastResort : undefined,
      );
      sendProtobuf(call.res, 200, encodeResponse(KeyPackageCountSchema, count));
    },
    async countKeyPackages(call) {
      sendProtobuf(
        call.res,
        200,
        encodeResponse(KeyPackageCountSchema, await keyPackages.count(call.session!)),
      );
    },
    async claimKeyPackages(call) {
      const req = await body(call, routes.claimKeyPackages);
      const claimed = await keyPackages.claim(call.session!, canonicalUsername(req.username), req.deviceIds);
      sendProtobuf(call.res, 200, encodeResponse(ClaimKeyPackagesResponseSchema, claimed));
    },
    async uploadAttachment(call) {
      const declared = call.req.headers['content-length'];
      const length = declared === undefined ? undefined : Number(declared);
      if (length !== undefined && !Number.isSafeInteger(length))
        throw new ApiError('malformed', 'Content-Length');
      const uploaded = await attachments.upload(call.session!, call.req, length);
      sendProtobuf(
        call.res,
        200,
        encodeResponse(AttachmentUploadedSchema, {
          id: uploaded.id,
          token: uploaded.token,
          size: BigInt(uploaded.size),
          expiresAtMs: BigInt(uploaded.expiresAt),
        }),
      );
    },
    async ktKeys({ res }) {
      sendProtobuf(res, 200, encodeResponse(KtKeysResponseSchema, requireKt().publicKeys));
    },
    async ktCheckpoint({ res }) {
      sendProtobuf(
        res,
        200,
        encodeResponse(KtCheckpointResponseSchema, { note: await requireKt().checkpoint() }),
      );
    },
    async ktLookup(call) {
      const username = usernameParam(call.params.username!);
      ctx.limiters.lookupsPerRequester.take(`${call.session!.accountId}/${call.session!.deviceId}`);
      const bytes = await proof(() => requireKt().lookup(username));
      sendProtobuf(call.res, 200, encodeResponse(KtProofResponseSchema, { proof: bytes }));
    },
    async ktMonitor(call) {
      const username = usernameParam(call.params.username!);
      const from = countParam(call.params.from!, 'version');
      ctx.limiters.lookupsPerRequester.take(`${call.session!.accountId}/${call.session!.deviceId}`);
      const bytes = await proof(() => requireKt().monitor(username, from));
      sendProtobuf(call.res, 200, encodeResponse(KtProofResponseSchema, { proof: bytes }));
    },
    async ktAudit(call) {
      const from = countParam(call.params.from!, 'tree size');
      const to = countParam(call.params.to!, 'tree size');
      const bytes = await proof(() => requireKt().audit(from, to));
      sendProtobuf(call.res, 200, encodeResponse(KtProofResponseSchema, { proof: bytes }));
    },
    async ktConsistency(call) {
      const from = countParam(call.params.from!, 'tree size');
      const to = countParam(call.params.to!, 'tree size');
      const bytes = await proof(() => requireKt().consistency(from, to));
      sendProtobuf(call.res, 200, encodeResponse(KtProofResponseSchema, { proof: bytes }));
    },
    async downloadAttachment(call) {
      const id = attachmentIdParam(call.params.id!);
      const capability = call.req.headers[CAPABILITY_HEADER];
      const { stream, size } = await attachments.open(
        id,
        Array.isArray(capability) ? undefined : capability,
        call.address,
      );
      call.res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': size });
      stream.pipe(call.res);
      await new Promise<void>((resolve) => {
        call.res.once('close', () => {
          stream.destroy();
          resolve();
        });
      });
    },
  };

  async function serveRoute(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<string> {
    const matched = matchRoute(req.method ?? '', pathname);
    if (!matched) throw new ApiError('not-found', 'no such route');
    const { route, params } = matched;
    if (!deps.accepting()) throw new ApiError('unavailable', 'shutting down', { retryAfterMs: 1000 });
    const session = route.auth === 'session' ? await sessionOf(req) : undefined;
    await handlers[route.name]!({
      req,
      res,
      params,
      address: clientAddress(req, config.trustProxy),
      session,
    });
    return route.name;
  }

  function serveOperational(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (deps.web?.serve(req, res, pathname)) return true;
    if (pathname === '/') {
      setSecurityHeaders(res, { page: true, tls });
      const page = Buffer.from(placeholderPage);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length });
      res.end(req.method === 'HEAD' ? undefined : page);
      return true;
    }
    if (pathname === '/health') {
      const ok = deps.accepting();
      const text = JSON.stringify({ status: ok ? 'ok' : 'shutting-down' });
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(text);
      return true;
    }
    if (pathname === '/metrics' && config.metrics.enabled) {
      const token = config.metrics.token;
      if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end('unauthenticated\n');
        return true;
      }
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((error: unknown) => sendError(res, 'metrics', error));
      return true;
    }
    return false;
  }

  return (req, res) => {
    const started = performance.now();
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      pathname = '/';
    }
    setSecurityHeaders(res, { page: false, tls });
    if (serveOperational(req, res, pathname)) return;
    let routeName = 'unknown';
    serveRoute(req, res, pathname)
      .then((name) => {
        routeName = name;
      })
      .catch((error: unknown) => {
        routeName = matchRoute(req.method ?? '', pathname)?.route.name ?? 'unknown';
        sendError(res, routeName, error);
      })
      .finally(() => {
        metrics.httpRequests.inc({ route: routeName, status: String(res.statusCode) });
        metrics.httpDuration.observe({ route: routeName }, (performance.now() - started) / 1000);
        log.debug({ event: 'http', route: routeName, status: res.statusCode }, 'request');
      });
  };
}
