// HTTP: the routes of @ghostproof/api (registration, sign-in, device lists, key packages,
// attachments, key transparency), /health, /metrics and the page at `/`. The dispatcher
// checks what every route shares (shutdown, session, the body bounded before it is read,
// decoded and checked) and hands the rest to the route's handler (route-handlers.ts).
// Errors become responses in one place (sendError): the status and code from the error
// table, an ErrorBody, and the code in a header.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ApiError,
  decodeRequest,
  encodeResponse,
  ERROR_CODE_HEADER,
  ErrorBodySchema,
  fromBase64Url,
  matchRoute,
  routeErrors,
  SESSION_TOKEN_LENGTH,
  type DescMessage,
  type Route,
} from '@ghostproof/api';
import type { KeyTransparency } from '../kt/key-transparency.js';
import { describeError, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AccountService, Session } from '../services/accounts.js';
import type { AttachmentService } from '../services/attachments.js';
import type { ServiceContext } from '../services/context.js';
import type { KeyPackageService } from '../services/key-packages.js';
import { declareCalls } from './declared-calls.js';
import { placeholderPage, setSecurityHeaders } from './headers.js';
import { clientAddress, readBody, sendProtobuf } from './io.js';
import type { Fail, RouteHandler } from './route-call.js';
import { createRouteHandlers } from './route-handlers.js';
import type { WebClient } from './web-client.js';

export { clientAddress } from './io.js';

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

/** Builds the ApiError a handler's `fail` throws. */
const fail: Fail<ApiError['code']> = (code, message, options) => {
  throw new ApiError(code, message, options);
};

export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { ctx, accounts, metrics, log } = deps;
  const { config } = ctx;
  const tls = config.tls !== undefined;
  const handlers = createRouteHandlers(declareCalls(deps));

  /** The one place errors become responses; `route` when the request matched one. */
  function sendError(res: ServerResponse, routeName: string, error: unknown, route?: Route): void {
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
    if (route && !routeErrors(route).includes(apiError.code)) {
      // The answer goes out as it is; the route's declaration (routes.ts) is what is wrong.
      log.error(
        { event: 'http-undeclared-error', route: routeName, code: apiError.code },
        'a route answered with a code it does not declare',
      );
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

  async function serveRoute(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    params: Record<string, string>,
  ): Promise<void> {
    if (!deps.accepting()) throw new ApiError('unavailable', 'shutting down', { retryAfterMs: 1000 });
    const session = route.auth === 'session' ? await sessionOf(req) : undefined;
    const body =
      route.request === null
        ? undefined
        : decodeRequest(
            route as Route<DescMessage, DescMessage | null>,
            await readBody(req, route.maxRequestBytes(config.limits)),
            config.limits,
          );
    // Each handler is typed with its own route; here they are all called alike.
    const handler = handlers[route.name as keyof typeof handlers] as RouteHandler<Route>;
    await handler({
      req,
      res,
      params,
      address: clientAddress(req, config.trustProxy),
      session,
      body: body as never,
      fail,
    });
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
    const matched = matchRoute(req.method ?? '', pathname);
    const routeName = matched?.route.name ?? 'unknown';
    const served = matched
      ? serveRoute(req, res, matched.route, matched.params)
      : Promise.reject(new ApiError('not-found', 'no such route'));
    served
      .catch((error: unknown) => sendError(res, routeName, error, matched?.route))
      .finally(() => {
        metrics.httpRequests.inc({ route: routeName, status: String(res.statusCode) });
        metrics.httpDuration.observe({ route: routeName }, (performance.now() - started) / 1000);
        log.debug({ event: 'http', route: routeName, status: res.statusCode }, 'request');
      });
  };
}
