import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  ApiError,
  apiErrorCodes,
  decodeRequest,
  defaultLimits,
  encodeRequest,
  everyRouteErrors,
  routeErrors,
  routeList,
  routes,
  type ApiErrorCode,
  type DescMessage,
  type Route,
} from '@ghostproof/api';
import { seededRandom } from './helpers/vectors.js';

/** Decodes `body` for `route`; the code of the ApiError it throws, or undefined. */
function codeOf(route: Route, body: Uint8Array): ApiErrorCode | undefined {
  try {
    decodeRequest(route as Route<DescMessage>, body);
    return undefined;
  } catch (error) {
    assert.ok(ApiError.is(error), `${route.name}: ${String(error)}`);
    return error.code;
  }
}

describe('route error declarations', () => {
  it('name each code once, from the error table, and leave unavailable and internal to every route', () => {
    for (const route of routeList) {
      assert.equal(new Set(route.errors).size, route.errors.length, route.name);
      for (const code of route.errors) assert.ok(apiErrorCodes.includes(code), `${route.name}: ${code}`);
      for (const code of everyRouteErrors) {
        assert.ok(!route.errors.includes(code), `${route.name}: ${code} is implied`);
        assert.ok(routeErrors(route).includes(code), `${route.name}: ${code}`);
      }
    }
  });

  it('declare what the boundary answers: a session, and a body bounded and decoded', () => {
    for (const route of routeList) {
      if (route.auth === 'session') assert.ok(route.errors.includes('unauthenticated'), route.name);
      else assert.ok(route.auth === 'none' || !route.errors.includes('unauthenticated'), route.name);
      if (route.request) {
        assert.ok(route.errors.includes('malformed'), route.name);
        assert.ok(route.errors.includes('too-large'), route.name);
      }
    }
    // A body the challenge does not take is still refused for its size.
    assert.ok(routes.challenge.errors.includes('too-large'));
  });

  it('cover every code the request checks give, for random and oversized bodies (seeded)', () => {
    const random = seededRandom(14);
    for (const route of routeList) {
      if (!route.request) continue;
      const seen = new Set<ApiErrorCode>();
      const max = route.maxRequestBytes(defaultLimits);
      const inputs = [new Uint8Array(max + 1), new Uint8Array(0)];
      for (let i = 0; i < 500; i++) {
        inputs.push(new Uint8Array(Math.floor(random() * 120)).map(() => Math.floor(random() * 256)));
      }
      for (const bytes of inputs) {
        const code = codeOf(route, bytes);
        if (code) seen.add(code);
      }
      for (const code of seen) assert.ok(route.errors.includes(code), `${route.name} answers ${code}`);
      assert.ok(seen.has('too-large'), route.name);
    }
  });

  it("cover the codes of each route's own rules", () => {
    const cases: [Route, Record<string, unknown>, ApiErrorCode][] = [
      [routes.register, { signedDeviceList: new Uint8Array(0) }, 'malformed'],
      [routes.register, { signedDeviceList: new Uint8Array(5000) }, 'too-large'],
      [routes.register, { signedDeviceList: new Uint8Array(10), inviteCode: 'x'.repeat(200) }, 'too-large'],
      [routes.signIn, { username: 'a', deviceId: 1 }, 'invalid-username'],
      [routes.signIn, { username: 'alice', deviceId: 0 }, 'malformed'],
      [routes.updateDeviceList, { signedDeviceList: new Uint8Array(0) }, 'malformed'],
      [routes.deleteAccount, { signature: new Uint8Array(3) }, 'malformed'],
      [routes.uploadKeyPackages, {}, 'malformed'],
      [
        routes.uploadKeyPackages,
        { lastResort: new Uint8Array(defaultLimits.keyPackageBytes + 1) },
        'too-large',
      ],
      [routes.claimKeyPackages, { username: '--' }, 'invalid-username'],
      [routes.claimKeyPackages, { username: 'alice', deviceIds: [1, 1] }, 'malformed'],
      [
        routes.claimKeyPackages,
        { username: 'alice', deviceIds: Array.from({ length: 17 }, (_, i) => i + 1) },
        'too-large',
      ],
    ];
    for (const [route, init, expected] of cases) {
      const body = toBinary(route.request!, create(route.request!, init as never));
      assert.equal(codeOf(route, body), expected, `${route.name}: ${JSON.stringify(Object.keys(init))}`);
      assert.ok(route.errors.includes(expected), `${route.name} declares ${expected}`);
    }
    assert.throws(
      () => encodeRequest(routes.signIn, { username: 'alice', deviceId: 1 }),
      (e) => ApiError.is(e, 'malformed'),
    );
  });
});
