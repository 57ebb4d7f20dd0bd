// The plaintext inside application messages: schema round trips, padding, and what sizes the
// server can see.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ciphersuite } from '@ghostproof/crypto';
import {
  AttachmentSchema,
  body,
  ContentSchema,
  create,
  decodeContent,
  encodeContent,
  paddingBucket,
  ProtocolError,
  MAX_APPLICATION_PLAINTEXT,
} from '@ghostproof/protocol';
import { groupOf, World } from './helpers/people.js';

const id = new Uint8Array(16).fill(7);

describe('content', () => {
  it('round-trips every kind of content', () => {
    const target = new Uint8Array(16).fill(1);
    const bodies = [
      body.text('hello', target),
      body.reaction(target, '👍'),
      body.edit(target, 'hello, edited'),
      body.delete(target),
      body.receipt('read', [target]),
      body.typing(true),
      body.disappearingTimer(3600),
      body.profile('Alice A.'),
      body.groupName('Reporters'),
      body.groupAdmins(['alice', 'bob']),
      {
        case: 'attachment' as const,
        value: create(AttachmentSchema, {
          id: 'blob-1',
          key: new Uint8Array(32).fill(2),
          digest: new Uint8Array(32).fill(3),
          size: 1234n,
          contentType: 'image/png',
          fileName: 'photo.png',
          token: 'capability',
        }),
      },
    ];
    for (const b of bodies) {
      const content = create(ContentSchema, { messageId: id, sentAt: 1n, body: b });
      const decoded = decodeContent(encodeContent(content));
      assert.equal(decoded.body.case, b.case);
      assert.deepEqual(decoded, content);
    }
  });

  it('pads to power-of-two buckets from 128 bytes, and refuses content over 256 KiB', () => {
    assert.equal(paddingBucket(1), 128);
    assert.equal(paddingBucket(129), 256);
    assert.equal(paddingBucket(5000), 8192);
    const big = create(ContentSchema, {
      messageId: id,
      body: body.text('x'.repeat(MAX_APPLICATION_PLAINTEXT)),
    });
    assert.throws(
      () => encodeContent(big),
      (e) => ProtocolError.is(e, 'too-large'),
    );
  });

  it('refuses padding that is not zero, and lengths beyond the padding', () => {
    const padded = encodeContent(create(ContentSchema, { messageId: id, body: body.text('hi') }));
    const dirty = padded.slice();
    dirty[dirty.length - 1] = 1;
    assert.throws(
      () => decodeContent(dirty),
      (e) => ProtocolError.is(e, 'malformed'),
    );
    const long = padded.slice();
    long[0] = 0xff;
    assert.throws(
      () => decodeContent(long),
      (e) => ProtocolError.is(e, 'malformed'),
    );
  });

  it('ciphertext sizes fall into the buckets, whatever the text length', async () => {
    const world = new World(Ciphersuite.X25519_AES128GCM_SHA256_ED25519);
    const [alice, bob] = [await world.person('alice'), await world.person('bob')];
    const a = (await groupOf(world, alice, [bob])).get('alice/1')!;
    const sizes = new Map<number, number>();
    for (const length of [0, 1, 10, 50, 80, 100, 120, 200, 300, 1000, 3000, 6000]) {
      const { message } = await a.encrypt(body.text('x'.repeat(length)));
      sizes.set(length, message.length);
    }
    // A constant MLS overhead on top of a power-of-two bucket: the server learns the bucket only.
    // (From 16 KiB the ciphertext's length prefix grows by two bytes, still one size per bucket.)
    const overhead = sizes.get(0)! - 128;
    for (const [length, size] of sizes) {
      const bucket = size - overhead;
      assert.ok(bucket >= 128 && (bucket & (bucket - 1)) === 0, `text of ${length}: ${size} bytes`);
    }
    assert.equal(sizes.get(1), sizes.get(50));
    assert.ok(new Set(sizes.values()).size < sizes.size);
  });
});
