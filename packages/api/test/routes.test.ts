import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ApiError,
  apiErrorCodes,
  apiErrorTable,
  attachmentIdParam,
  decodeRequest,
  defaultLimits,
  encodeRequest,
  fromBase64Url,
  matchRoute,
  pathFor,
  routeList,
  routes,
  toBase64Url,
  usernameParam,
} from '@ghostproof/api';
import { seededRandom } from './helpers/vectors.js';

describe('HTTP routes', () => {
  it('match paths with parameters and nothing else', () => {
    const m = matchRoute('GET', '/v1/accounts/alice/devices');
    assert.equal(m?.route, routes.getDeviceList);
    assert.equal(m?.params.username, 'alice');
    assert.equal(matchRoute('POST', '/v1/accounts/alice/devices'), undefined);
    assert.equal(matchRoute('GET', '/v1/accounts/alice/devices/x'), undefined);
    assert.equal(matchRoute('PUT', '/v1/accounts/me/devices')?.route, routes.updateDeviceList);
    assert.equal(pathFor(routes.downloadAttachment, { id: 'abc' }), '/v1/attachments/abc');
    const names = new Set(routeList.map((r) => `${r.method} ${r.path}`));
    assert.equal(names.size, routeList.length);
  });

  it('check request bodies: size first, then schema, then rules', () => {
    const body = encodeRequest(routes.claimKeyPackages, { username: 'bob', deviceIds: [1, 2] });
    assert.deepEqual(decodeRequest(routes.claimKeyPackages, body).deviceIds, [1, 2]);
    assert.throws(
      () => decodeRequest(routes.claimKeyPackages, new Uint8Array(2000)),
      (e) => ApiError.is(e, 'too-large'),
    );
    assert.throws(
      () => decodeRequest(routes.claimKeyPackages, new Uint8Array([0xff, 0xff, 0xff])),
      (e) => ApiError.is(e, 'malformed'),
    );
    assert.throws(
      () => encodeRequest(routes.claimKeyPackages, { username: 'bob', deviceIds: [1, 1] }),
      (e) => ApiError.is(e, 'malformed'),
    );
    assert.throws(
      () => encodeRequest(routes.signIn, { username: 'bob', deviceId: 1 }),
      (e) => ApiError.is(e, 'malformed'),
    );
    const tooMany = {
      oneTime: Array.from({ length: defaultLimits.keyPackagesPerUpload + 1 }, () => new Uint8Array(1)),
    };
    assert.throws(
      () => encodeRequest(routes.uploadKeyPackages, tooMany),
      (e) => ApiError.is(e, 'too-large'),
    );
  });

  it('random bodies give typed errors on every route (seeded)', () => {
    const random = seededRandom(7);
    for (const r of routeList) {
      if (!r.request) continue;
      for (let i = 0; i < 300; i++) {
        const bytes = new Uint8Array(Math.floor(random() * 80)).map(() => Math.floor(random() * 256));
        try {
          decodeRequest(r as never, bytes);
        } catch (e) {
          assert.ok(ApiError.is(e), `${r.name}: ${String(e)}`);
        }
      }
    }
  });

  it('read path parameters strictly', () => {
    assert.equal(usernameParam('Alice'), 'alice');
    assert.throws(
      () => usernameParam('%E0%A4%A'),
      (e) => ApiError.is(e, 'invalid-username'),
    );
    const id = crypto.getRandomValues(new Uint8Array(16));
    assert.deepEqual(attachmentIdParam(toBase64Url(id)), id);
    assert.throws(() => attachmentIdParam('AAAA'), ApiError);
  });
});

describe('base64url', () => {
  it('round-trips every length and refuses non-canonical text', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      const text = toBase64Url(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64url'));
      assert.deepEqual(fromBase64Url(text, 'x', 64), bytes);
    }
    assert.throws(() => fromBase64Url('AB', 'x', 64), ApiError); // unused bits set
    assert.throws(() => fromBase64Url('A+==', 'x', 64), ApiError);
    assert.throws(() => fromBase64Url('A'.repeat(100), 'x', 16), ApiError);
  });
});

describe('error table', () => {
  it('keeps the codes that existed before and gives each an HTTP status', () => {
    for (const code of ['malformed', 'too-large', 'invalid-username', 'reserved-username', 'bad-signature']) {
      assert.ok(apiErrorCodes.includes(code as never), code);
    }
    for (const code of apiErrorCodes) assert.ok(apiErrorTable[code].status >= 400);
    assert.equal(new ApiError('stale-epoch', 'x').status, 409);
  });
});
