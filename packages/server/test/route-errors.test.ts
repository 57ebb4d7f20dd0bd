// The error contract of the HTTP routes, seen from outside: each request below provokes one
// error on a running server, and the answer must be that code, with the status of the error
// table, and one the route declares (routes.ts). A route answering a code it does not
// declare, or a declaration the server never lives up to where we can provoke it, fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  apiErrorTable,
  CAPABILITY_HEADER,
  defaultLimits,
  ERROR_CODE_HEADER,
  pathFor,
  PROTOBUF_CONTENT_TYPE,
  routeErrors,
  routes,
  SignInRequestSchema,
  ClaimKeyPackagesRequestSchema,
  toBase64Url,
  type ApiErrorCode,
  type Route,
  type RouteName,
} from '@ghostproof/api';
import { randomId, startServer, TestAccount, type Harness } from './helpers/harness.js';

interface Attempt {
  readonly params?: Record<string, string>;
  readonly token?: Uint8Array;
  readonly body?: Uint8Array;
  readonly headers?: Record<string, string>;
}

/** Every (route, code) this file provoked, to check that each route was tried. */
const provoked = new Map<RouteName, Set<ApiErrorCode>>();

async function answer(
  base: string,
  route: Route,
  attempt: Attempt,
): Promise<{ status: number; code: string }> {
  const headers: Record<string, string> = { ...attempt.headers };
  if (attempt.token) headers.authorization = `Bearer ${toBase64Url(attempt.token)}`;
  if (attempt.body) headers['content-type'] ??= PROTOBUF_CONTENT_TYPE;
  const res = await fetch(new URL(pathFor(route, attempt.params), base), {
    method: route.method,
    headers,
    body: attempt.body ? new Uint8Array(attempt.body) : null,
  });
  await res.arrayBuffer();
  return { status: res.status, code: res.headers.get(ERROR_CODE_HEADER) ?? '' };
}

/** The answer must be `expected`, with its status, and declared by the route. */
async function expectCode(
  base: string,
  route: Route,
  expected: ApiErrorCode,
  attempt: Attempt,
): Promise<void> {
  const { status, code } = await answer(base, route, attempt);
  assert.equal(code, expected, `${route.name}: expected ${expected}, got ${status} ${code}`);
  assert.equal(status, apiErrorTable[expected].status, `${route.name}: status of ${expected}`);
  assert.ok(
    routeErrors(route).includes(expected),
    `${route.name} answers ${expected} but does not declare it`,
  );
  const seen = provoked.get(route.name as RouteName) ?? new Set();
  provoked.set(route.name as RouteName, seen.add(expected));
}

/** Repeats a request until it is rate limited; every answer on the way must be declared. */
async function expectRateLimited(base: string, route: Route, attempt: () => Promise<Attempt>): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const { status, code } = await answer(base, route, await attempt());
    if (status === 200) continue;
    assert.ok(routeErrors(route).includes(code as ApiErrorCode), `${route.name} answers ${code}`);
    if (code === 'rate-limited') {
      await expectCode(base, route, 'rate-limited', await attempt());
      return;
    }
  }
  assert.fail(`${route.name}: never rate limited`);
}

const garbage = new Uint8Array([0xff, 0xff, 0xff]);
const oversized = (route: Route) => new Uint8Array(route.maxRequestBytes(defaultLimits) + 1);

describe('HTTP routes answer only the error codes they declare', () => {
  let h: Harness;
  let alice: TestAccount;
  let bob: TestAccount;
  let token: Uint8Array;

  before(async () => {
    h = await startServer();
    alice = await TestAccount.create(h.url);
    bob = await TestAccount.create(h.url);
    await alice.register();
    await bob.register();
    token = await alice.signIn();
  });
  after(() => h.stop());

  it('refuses requests without a session on every session route: unauthenticated', async () => {
    const params = { username: alice.username, from: '0' };
    for (const route of Object.values(routes)) {
      if (route.auth !== 'session') continue;
      await expectCode(h.url, route, 'unauthenticated', { params });
      await expectCode(h.url, route, 'unauthenticated', { params, token: randomId(32) });
    }
  });

  it('refuses bodies that do not parse or are over the limit: malformed, too-large', async () => {
    for (const route of Object.values(routes)) {
      if (!route.request) continue;
      const auth = route.auth === 'session' ? { token } : {};
      await expectCode(h.url, route, 'malformed', { ...auth, body: garbage });
      await expectCode(h.url, route, 'too-large', { ...auth, body: oversized(route) });
    }
    await expectCode(h.url, routes.challenge, 'too-large', { body: new Uint8Array(1) });
    await expectCode(h.url, routes.uploadAttachment, 'malformed', {
      token,
      body: new Uint8Array(0),
      headers: { 'content-type': 'application/octet-stream' },
    });
  });

  it('refuses registrations: taken, badly signed, out of sequence, reserved', async () => {
    const register = async (signedDeviceList: Uint8Array) => ({
      body: toBinary(routes.register.request, create(routes.register.request, { signedDeviceList })),
    });
    await expectCode(h.url, routes.register, 'username-taken', await register(await alice.signedList(1n)));
    const carol = await TestAccount.create(h.url);
    const mallory = await platformPrimitives.ed25519.generate();
    await expectCode(
      h.url,
      routes.register,
      'bad-signature',
      await register(await carol.signedList(1n, mallory)),
    );
    await expectCode(h.url, routes.register, 'stale-sequence', await register(await carol.signedList(2n)));
    const admin = await TestAccount.create(h.url, 'admin');
    await expectCode(h.url, routes.register, 'reserved-username', await register(await admin.signedList(1n)));
  });

  it('refuses sign-ins: bad names and bad signatures', async () => {
    const init = {
      username: alice.username,
      deviceId: 1,
      serverNonce: randomId(32),
      clientNonce: randomId(32),
      signature: randomId(64),
    };
    const body = (fields: Partial<typeof init>) =>
      toBinary(SignInRequestSchema, create(SignInRequestSchema, { ...init, ...fields }));
    await expectCode(h.url, routes.signIn, 'unauthenticated', { body: body({}) });
    await expectCode(h.url, routes.signIn, 'invalid-username', { body: body({ username: 'a' }) });
  });

  it('refuses device-list reads and updates that are not allowed', async () => {
    await expectCode(h.url, routes.getDeviceList, 'not-found', {
      token,
      params: { username: 'nobody-here' },
    });
    await expectCode(h.url, routes.getDeviceList, 'invalid-username', { token, params: { username: 'a' } });
    const update = (signedDeviceList: Uint8Array) => ({
      token,
      body: toBinary(
        routes.updateDeviceList.request,
        create(routes.updateDeviceList.request, { signedDeviceList }),
      ),
    });
    const mallory = await platformPrimitives.ed25519.generate();
    await expectCode(
      h.url,
      routes.updateDeviceList,
      'bad-signature',
      update(await alice.signedList(2n, mallory)),
    );
    await expectCode(h.url, routes.updateDeviceList, 'stale-sequence', update(await alice.signedList(1n)));
    await expectCode(h.url, routes.updateDeviceList, 'forbidden', update(await bob.signedList(2n)));
    const deletion = toBinary(
      routes.deleteAccount.request,
      create(routes.deleteAccount.request, { signature: randomId(64) }),
    );
    await expectCode(h.url, routes.deleteAccount, 'bad-signature', { token, body: deletion });
  });

  it('refuses key packages that are not this device’s, twice, or of another suite; claims of nobody', async () => {
    const upload = (oneTime: Uint8Array[]) => ({
      token,
      body: toBinary(routes.uploadKeyPackages.request, create(routes.uploadKeyPackages.request, { oneTime })),
    });
    const own = await alice.keyPackage();
    await expectCode(h.url, routes.uploadKeyPackages, 'conflict', upload([own.bytes, own.bytes]));
    await expectCode(h.url, routes.uploadKeyPackages, 'forbidden', upload([(await bob.keyPackage()).bytes]));
    await expectCode(
      h.url,
      routes.uploadKeyPackages,
      'unsupported',
      upload([(await alice.keyPackage(1, 2)).bytes]),
    );
    const claim = (username: string) => ({
      token,
      body: toBinary(ClaimKeyPackagesRequestSchema, create(ClaimKeyPackagesRequestSchema, { username })),
    });
    await expectCode(h.url, routes.claimKeyPackages, 'not-found', claim('nobody-here'));
    await expectCode(h.url, routes.claimKeyPackages, 'invalid-username', claim('a'));
  });

  it('refuses attachment ids that are not ids, and unknown ones alike', async () => {
    await expectCode(h.url, routes.downloadAttachment, 'malformed', { params: { id: 'AAAA' } });
    await expectCode(h.url, routes.downloadAttachment, 'not-found', {
      params: { id: toBase64Url(randomId(16)) },
      headers: { [CAPABILITY_HEADER]: toBase64Url(randomId(32)) },
    });
  });

  it('refuses key transparency requests out of range', async () => {
    // A published epoch, so that the answers are about the range and not an empty log.
    await h.server.kt!.publish();
    await expectCode(h.url, routes.ktLookup, 'invalid-username', { token, params: { username: 'a' } });
    await expectCode(h.url, routes.ktMonitor, 'malformed', {
      token,
      params: { username: alice.username, from: 'x' },
    });
    await expectCode(h.url, routes.ktMonitor, 'not-found', {
      token,
      params: { username: alice.username, from: '99' },
    });
    await expectCode(h.url, routes.ktAudit, 'malformed', { params: { from: 'x', to: '1' } });
    await expectCode(h.url, routes.ktAudit, 'malformed', { params: { from: '1000', to: '2000' } });
    await expectCode(h.url, routes.ktConsistency, 'malformed', { params: { from: '0', to: 'x' } });
    await expectCode(h.url, routes.ktConsistency, 'malformed', { params: { from: '5', to: '1000' } });
  });
});

describe('HTTP routes under tight limits, invites and no key transparency', () => {
  let h: Harness;
  let alice: TestAccount;
  let token: Uint8Array;
  const tight = { limit: 1, windowMs: 3_600_000 };

  before(async () => {
    h = await startServer({
      rates: {
        registrationsPerAddress: { limit: 2, windowMs: 3_600_000 },
        signInsPerAddress: { limit: 3, windowMs: 3_600_000 },
        // Two: the lookup and the monitor of the key transparency test below.
        lookupsPerRequester: { limit: 2, windowMs: 3_600_000 },
        claimsPerRequester: tight,
        keyPackageUploadsPerDevice: tight,
        attachmentUploadsPerDevice: { limit: 2, windowMs: 3_600_000 },
        attachmentDownloadsPerAddress: tight,
      },
      limits: { attachmentBytes: 1024 },
      invites: { required: true, codes: ['contract-test-invite'] },
      kt: { enabled: false },
    });
    alice = await TestAccount.create(h.url);
    await alice.register('contract-test-invite');
    token = await alice.signIn();
  });
  after(() => h.stop());

  it('answers not-found for every key transparency route when it is off', async () => {
    const params = { username: alice.username, from: '0', to: '1' };
    for (const route of [
      routes.ktKeys,
      routes.ktCheckpoint,
      routes.ktLookup,
      routes.ktMonitor,
      routes.ktAudit,
    ]) {
      await expectCode(h.url, route, 'not-found', { params, token });
    }
    await expectCode(h.url, routes.ktConsistency, 'not-found', { params });
  });

  it('refuses registrations without a valid invite', async () => {
    const bob = await TestAccount.create(h.url);
    const body = toBinary(
      routes.register.request,
      create(routes.register.request, { signedDeviceList: await bob.signedList(1n) }),
    );
    await expectCode(h.url, routes.register, 'invite-required', { body });
  });

  it('refuses an attachment over the limit', async () => {
    await expectCode(h.url, routes.uploadAttachment, 'too-large', {
      token,
      body: new Uint8Array(2048),
      headers: { 'content-type': 'application/octet-stream' },
    });
  });

  it('rate-limits every route that has a limit', async () => {
    const bob = await TestAccount.create(h.url);
    const registration = async () => ({
      body: toBinary(
        routes.register.request,
        create(routes.register.request, { signedDeviceList: await bob.signedList(1n) }),
      ),
    });
    await expectRateLimited(h.url, routes.register, registration);
    await expectRateLimited(h.url, routes.challenge, async () => ({}));
    const signIn = toBinary(
      SignInRequestSchema,
      create(SignInRequestSchema, {
        username: alice.username,
        deviceId: 1,
        serverNonce: randomId(32),
        clientNonce: randomId(32),
        signature: randomId(64),
      }),
    );
    await expectCode(h.url, routes.signIn, 'rate-limited', { body: signIn });
    const lookup = async () => ({ token, params: { username: alice.username, from: '0' } });
    await expectRateLimited(h.url, routes.getDeviceList, lookup);
    await expectCode(h.url, routes.ktLookup, 'rate-limited', await lookup());
    await expectCode(h.url, routes.ktMonitor, 'rate-limited', await lookup());
    await expectRateLimited(h.url, routes.claimKeyPackages, async () => ({
      token,
      body: toBinary(
        ClaimKeyPackagesRequestSchema,
        create(ClaimKeyPackagesRequestSchema, { username: alice.username }),
      ),
    }));
    await expectRateLimited(h.url, routes.uploadKeyPackages, async () => ({
      token,
      body: toBinary(
        routes.uploadKeyPackages.request,
        create(routes.uploadKeyPackages.request, { oneTime: [(await alice.keyPackage()).bytes] }),
      ),
    }));
    await expectRateLimited(h.url, routes.uploadAttachment, async () => ({
      token,
      body: new Uint8Array(16),
      headers: { 'content-type': 'application/octet-stream' },
    }));
    await expectRateLimited(h.url, routes.downloadAttachment, async () => ({
      params: { id: toBase64Url(randomId(16)) },
    }));
  });
});

describe('the error contract as a whole', () => {
  it('was tried on every route that can refuse anything, for each common kind of refusal', () => {
    for (const route of Object.values(routes)) {
      if (route.errors.length === 0) continue;
      assert.ok(provoked.has(route.name as RouteName), `${route.name}: no error provoked`);
    }
    const all = new Set([...provoked.values()].flatMap((codes) => [...codes]));
    for (const code of [
      'malformed',
      'unauthenticated',
      'too-large',
      'not-found',
      'conflict',
      'rate-limited',
    ] as const) {
      assert.ok(all.has(code), code);
    }
  });
});

describe('route handlers', () => {
  it("produce errors only through their route's fail and declared calls: no throw, no ApiError", () => {
    // The types hold `fail` and the declared calls to the route's codes; a throw would not be.
    const source = readFileSync(new URL('../src/http/route-handlers.ts', import.meta.url), 'utf8');
    const code = source.replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\bthrow\b/);
    assert.doesNotMatch(code, /\bApiError\b/);
  });
});
