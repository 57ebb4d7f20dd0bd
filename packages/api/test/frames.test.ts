import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  ApiError,
  ClientFrameSchema,
  decodeClientFrame,
  decodeServerFrame,
  defaultLimits,
  encodeAcceptedFrame,
  encodeClientFrame,
  encodeDeliveryFrame,
  encodeServerFrame,
  errorFrame,
  errorFromBody,
  validateClientFrame,
} from '@ghostproof/api';
import { seededRandom } from './helpers/vectors.js';

const id16 = () => crypto.getRandomValues(new Uint8Array(16));

describe('WebSocket frames', () => {
  it('round-trip a send, a commit with removals and an ack', () => {
    const frames = [
      {
        requestId: 1,
        body: { case: 'sendMessage' as const, value: { clientId: id16(), message: new Uint8Array(200) } },
      },
      {
        requestId: 2,
        body: {
          case: 'sendCommit' as const,
          value: { clientId: id16(), commit: new Uint8Array(50), remove: [{ username: 'bob', deviceId: 2 }] },
        },
      },
      { requestId: 3, body: { case: 'ack' as const, value: { messageIds: [id16(), id16()] } } },
    ];
    for (const init of frames) {
      const decoded = validateClientFrame(decodeClientFrame(encodeClientFrame(init)));
      assert.equal(decoded.requestId, init.requestId);
      assert.equal(decoded.body.case, init.body.case);
    }
  });

  it('refuse an oversized frame before decoding it', () => {
    const limits = { ...defaultLimits, frameBytes: 1000 };
    assert.throws(
      () => decodeClientFrame(new Uint8Array(1001), limits),
      (e) => ApiError.is(e, 'too-large'),
    );
  });

  it('give typed errors for wrong lengths, missing bodies, reserved ids and non-canonical names', () => {
    const bad: MessageInitShape<typeof ClientFrameSchema>[] = [
      {
        requestId: 1,
        body: {
          case: 'sendMessage' as const,
          value: { clientId: new Uint8Array(15), message: new Uint8Array(1) },
        },
      },
      {
        requestId: 1,
        body: { case: 'sendMessage' as const, value: { clientId: id16(), message: new Uint8Array(0) } },
      },
      { requestId: 0, body: { case: 'ping' as const, value: {} } },
      { requestId: 1 },
      { requestId: 1, body: { case: 'authenticate' as const, value: { sessionToken: new Uint8Array(31) } } },
      { requestId: 1, body: { case: 'createGroup' as const, value: { groupId: new Uint8Array(0) } } },
      { requestId: 1, body: { case: 'ack' as const, value: { messageIds: [] } } },
      {
        requestId: 1,
        body: {
          case: 'sendCommit' as const,
          value: { clientId: id16(), commit: new Uint8Array(5), remove: [{ username: 'Bob', deviceId: 1 }] },
        },
      },
      {
        requestId: 1,
        body: {
          case: 'sendCommit' as const,
          value: { clientId: id16(), commit: new Uint8Array(5), remove: [{ username: 'bob', deviceId: 0 }] },
        },
      },
    ];
    for (const init of bad) {
      const bytes = toBinary(ClientFrameSchema, create(ClientFrameSchema, init));
      assert.throws(() => validateClientFrame(decodeClientFrame(bytes)), ApiError);
      assert.throws(() => encodeClientFrame(init), ApiError);
    }
    const tooMany = {
      requestId: 1,
      body: { case: 'ack' as const, value: { messageIds: Array.from({ length: 1001 }, id16) } },
    };
    assert.throws(
      () => encodeClientFrame(tooMany),
      (e) => ApiError.is(e, 'too-large'),
    );
  });

  it('random bytes decode to a typed error or a frame, never anything else (seeded)', () => {
    const random = seededRandom(42);
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(Math.floor(random() * 64)).map(() => Math.floor(random() * 256));
      try {
        validateClientFrame(decodeClientFrame(bytes));
      } catch (e) {
        assert.ok(ApiError.is(e), String(e));
      }
    }
  });

  it('hand-written Delivery and Accepted encoders write what protobuf-es writes', () => {
    for (const message of [
      new Uint8Array(0),
      new Uint8Array(5).fill(7),
      crypto.getRandomValues(new Uint8Array(300)),
    ]) {
      for (const receivedAtMs of [0n, 1n, 1_764_000_000_000n, 2n ** 64n - 1n]) {
        const delivery = { messageId: id16(), kind: 2, message, receivedAtMs };
        assert.deepEqual(
          encodeDeliveryFrame(delivery),
          encodeServerFrame({ body: { case: 'delivery', value: delivery } }),
        );
      }
    }
    for (const [requestId, epoch, duplicate] of [
      [1, 0n, false],
      [300, 5n, true],
      [2 ** 32 - 1, 2n ** 63n, false],
    ] as const) {
      const accepted = { messageId: id16(), epoch, duplicate, acceptedAtMs: 1_764_000_000_123n };
      assert.deepEqual(
        encodeAcceptedFrame(requestId, accepted),
        encodeServerFrame({
          body: { case: 'response', value: { requestId, result: { case: 'accepted', value: accepted } } },
        }),
      );
    }
  });

  it('carry errors with their code and retry hint', () => {
    const frame = decodeServerFrame(
      errorFrame(7, new ApiError('rate-limited', 'slow down', { retryAfterMs: 1500 })),
    );
    assert.equal(frame.body.case, 'response');
    if (frame.body.case !== 'response' || frame.body.value.result.case !== 'error')
      throw new Error('expected an error');
    assert.equal(frame.body.value.requestId, 7);
    const err = errorFromBody(frame.body.value.result.value);
    assert.equal(err.code, 'rate-limited');
    assert.equal(err.retryAfterMs, 1500);
    assert.equal(errorFromBody({ code: 'from-the-future', message: '', retryAfterMs: 0n }).code, 'internal');
    assert.throws(
      () => decodeServerFrame(encodeServerFrame({})),
      (e) => ApiError.is(e, 'malformed'),
    );
  });
});
