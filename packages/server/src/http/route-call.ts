// The types that hold a route handler to its route's error codes. A handler has two ways to
// end in an error, and both go through the route's `fail`, typed with exactly the codes the
// route declares (routes.ts in @ghostproof/api): it calls `fail` itself, or it makes a
// declared call (declared-calls.ts), which takes `fail` as proof that the route declares
// every code the call may throw. A function parameter admits a `Fail` of any superset of
// the codes it asks for, so a handler that could produce an undeclared code does not
// compile. Handlers never throw and never build an ApiError themselves (a test checks).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ApiErrorCode,
  DescMessage,
  MessageShape,
  Route,
  RouteErrorCode,
  RouteName,
  routes,
} from '@ghostproof/api';
import type { Session } from '../services/accounts.js';

/** Ends a request with one of the codes `C`: the status and body come from the error table. */
export type Fail<C extends ApiErrorCode> = (
  code: C,
  message: string,
  options?: { cause?: unknown; retryAfterMs?: number },
) => never;

/**
 * A call that may throw the codes `C` (and everyRouteErrors); `fail` is the caller's proof
 * that its route declares them. The call itself throws; `fail` is not called.
 */
export type Declared<C extends ApiErrorCode, A extends unknown[], T> = ((fail: Fail<C>, ...args: A) => T) & {
  readonly errors: readonly C[];
};

/** Declares what `work` may throw, read from it and from what it calls. */
export function mayThrow<C extends ApiErrorCode, A extends unknown[], T>(
  errors: readonly C[],
  work: (...args: A) => T,
): Declared<C, A, T> {
  return Object.assign((_fail: Fail<C>, ...args: A) => work(...args), { errors });
}

type RequestOf<R> = R extends Route<infer Req, DescMessage | null, ApiErrorCode> ? Req : never;

export interface RouteCall<R extends Route> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly address: string;
  /** The signed-in device, on routes whose auth is 'session'. */
  readonly session: Session | undefined;
  /** The request body, decoded and checked before the handler runs (routes with a schema). */
  readonly body: RequestOf<R> extends DescMessage ? MessageShape<RequestOf<R>> : undefined;
  /** Refuses the request with a code the route declares. */
  readonly fail: Fail<RouteErrorCode<R>>;
}

export type RouteHandler<R extends Route> = (call: RouteCall<R>) => Promise<void>;

/** One handler per route, each held to its own route's codes. */
export type RouteHandlers = { readonly [N in RouteName]: RouteHandler<(typeof routes)[N]> };
