// The storage rules (src/storage/rules.ts) on their own, for what the store contract does not
// reach through the interface: codes that are on disk, and edge cases of the pure checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@ghostproof/api';
import { messageIdOf } from '../src/storage/ids.js';
import * as rules from '../src/storage/rules.js';
import type { AccountRecord } from '../src/storage/store.js';

const code = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return ApiError.is(error) ? error.code : 'not an ApiError';
  }
  return 'no error';
};

const account = (deviceIds: number[], maxDeviceId: number): AccountRecord => ({
  id: 7,
  username: 'alice',
  identityKey: new Uint8Array(32),
  sequence: 4n,
  signedDeviceList: new Uint8Array(8),
  devices: deviceIds.map((deviceId) => ({ deviceId, signatureKey: new Uint8Array(32) })),
  maxDeviceId,
  loggedSequence: 4n,
  createdAt: 0,
});

describe('storage rules', () => {
  it('keeps the delivery kind codes that are on disk, and reads them back', () => {
    assert.deepEqual(rules.kindCodes, { message: 1, commit: 2, welcome: 3 });
    for (const [kind, kindCode] of Object.entries(rules.kindCodes)) {
      const tag = Buffer.alloc(8, 9);
      const read = rules.storedDeliveryOf({
        seq: 12,
        tag,
        kind: kindCode,
        body: Buffer.from('x'),
        received_at: 5,
      });
      assert.equal(read.kind, kind);
      assert.deepEqual(read.messageId, messageIdOf(12, tag));
    }
  });

  it('diffs a device list: removed, added, and the highest id ever used kept', () => {
    const current = account([1, 2, 3], 6);
    const change = {
      accountId: 7,
      expectedSequence: 4n,
      sequence: 5n,
      signedDeviceList: new Uint8Array(8),
      devices: [current.devices[0]!, { deviceId: 5, signatureKey: new Uint8Array(32) }],
    };
    const diff = rules.diffDeviceList(current, change);
    assert.deepEqual(diff.removed, [2, 3]);
    assert.deepEqual(
      diff.added.map((d) => d.deviceId),
      [5],
    );
    assert.equal(diff.maxDeviceId, 6);
    assert.equal(rules.diffDeviceList(current, { ...change, devices: [current.devices[0]!] }).maxDeviceId, 6);
    assert.equal(
      code(() => rules.diffDeviceList(current, { ...change, expectedSequence: 3n })),
      'stale-sequence',
    );
    assert.equal(
      code(() => rules.diffDeviceList(undefined, change)),
      'not-found',
    );
  });

  it("refuses a commit removing its committer, not another device of the committer's account", () => {
    const ids = new Map([
      ['alice', 7],
      ['bob', 8],
    ]);
    const sender = { accountId: 7, deviceId: 1 };
    assert.equal(
      code(() => rules.removedMailboxes([{ username: 'alice', deviceId: 1 }], ids, sender)),
      'malformed',
    );
    assert.deepEqual(
      rules.removedMailboxes(
        [
          { username: 'alice', deviceId: 2 },
          { username: 'bob', deviceId: 1 },
          { username: 'gone', deviceId: 1 },
        ],
        ids,
        sender,
      ),
      [
        { accountId: 7, deviceId: 2 },
        { accountId: 8, deviceId: 1 },
      ],
    );
  });

  it('caps one-time key packages and routing lists at their limit, inclusive', () => {
    assert.equal(
      code(() => rules.checkOneTimeCap(2, 1, 3)),
      'no error',
    );
    assert.equal(
      code(() => rules.checkOneTimeCap(3, 1, 3)),
      'too-large',
    );
    assert.equal(
      code(() => rules.checkMaxMembers(3, 3)),
      'no error',
    );
    assert.equal(
      code(() => rules.checkMaxMembers(4, 3)),
      'too-large',
    );
  });

  it('answers a resend with the earlier answer, and other content under its id with conflict', () => {
    const row = {
      content_hash: Buffer.alloc(32, 1),
      message_id: Buffer.alloc(16, 2),
      epoch: 3,
      accepted_at: 99,
    };
    const answer = rules.previousAnswer(row, new Uint8Array(32).fill(1));
    assert.deepEqual(answer, {
      messageId: row.message_id,
      epoch: 3n,
      acceptedAt: 99,
      duplicate: true,
      deliveries: [],
    });
    assert.equal(
      code(() => rules.previousAnswer(row, new Uint8Array(32))),
      'conflict',
    );
  });

  it('gives unknown groups and groups one is not on the same answer', () => {
    const members = [{ accountId: 1, deviceId: 1 }];
    assert.equal(
      code(() => rules.requireMember(undefined, { accountId: 1, deviceId: 1 })),
      'forbidden',
    );
    assert.equal(
      code(() => rules.requireMember(members, { accountId: 1, deviceId: 2 })),
      'forbidden',
    );
    assert.equal(
      code(() => rules.requireMember(members, { accountId: 1, deviceId: 1 })),
      'no error',
    );
    assert.deepEqual(rules.othersThan([...members, { accountId: 2, deviceId: 1 }], members[0]!), [
      { accountId: 2, deviceId: 1 },
    ]);
  });

  it('routes a Welcome only through the claims given, one refusal for any ref without one', () => {
    const claims = [{ ref: Buffer.alloc(32, 1), account_id: 4, device_id: 2 }];
    assert.deepEqual(rules.welcomeRecipients([new Uint8Array(32).fill(1)], claims), [
      { accountId: 4, deviceId: 2 },
    ]);
    assert.equal(
      code(() => rules.welcomeRecipients([new Uint8Array(32).fill(1), new Uint8Array(32)], claims)),
      'unknown-key-package',
    );
  });
});
