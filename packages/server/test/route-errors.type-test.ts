// Type-level tests, checked by `npm run typecheck` (tsconfig.json includes packages/*/test):
// a route handler can produce only the error codes its route declares in routes.ts. Each
// `@ts-expect-error` marks a handler that must not compile; should the types ever admit it,
// tsc reports the directive as unused and the type check fails. Nothing here runs.
import type { DeclaredCalls } from '../src/http/declared-calls.js';
import type { RouteHandlers } from '../src/http/route-call.js';

declare const calls: DeclaredCalls;

/** Handlers producing codes their routes do not declare. */
export const undeclaredCodes: Partial<RouteHandlers> = {
  async countKeyPackages({ fail }) {
    // @ts-expect-error countKeyPackages cannot answer 'conflict'
    fail('conflict', 'a code the route does not declare');
  },
  async serverInfo({ params, fail }) {
    // @ts-expect-error a username path parameter may be 'invalid-username'; serverInfo declares no code
    calls.usernameParam(fail, params.username!);
  },
  async ktKeys({ session, fail }) {
    // @ts-expect-error claiming may answer 'invalid-username' and 'rate-limited', which ktKeys does not declare
    await calls.claimKeyPackages(fail, session!, 'bob', []);
  },
  async signIn({ session, fail }) {
    // @ts-expect-error deleting an account may answer 'bad-signature', which signIn does not declare
    await calls.deleteAccount(fail, session!, new Uint8Array(64));
  },
  async downloadAttachment({ req, session, fail }) {
    // @ts-expect-error an upload may answer 'too-large', which a download does not declare
    await calls.uploadAttachment(fail, session!, req);
  },
  async challenge({ fail }) {
    // @ts-expect-error a registration may answer 'username-taken' and more that challenge does not declare
    await calls.register(fail, new Uint8Array(0), '', '');
  },
};

/** The same calls on routes that declare their codes compile. */
export const declaredCodes: Partial<RouteHandlers> = {
  async claimKeyPackages({ body, session, fail }) {
    await calls.claimKeyPackages(fail, session!, body.username, body.deviceIds);
    fail('not-found', 'declared by claimKeyPackages');
  },
  async countKeyPackages({ fail }) {
    // Every route may answer unavailable and internal.
    fail('unavailable', 'shutting down');
  },
  async getDeviceList({ params, fail }) {
    calls.usernameParam(fail, params.username!);
  },
};
