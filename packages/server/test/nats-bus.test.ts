// The NATS delivery bus against the local NATS (127.0.0.1:4222, or GHOSTPROOF_TEST_NATS),
// each test run on its own subject prefix.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { DeliveryNotice } from '../src/bus/bus.js';
import { decodeNotice, encodeNotice, NatsBus } from '../src/bus/nats.js';
import { NATS_URL } from '@ghostproof/testkit';

const bytes = (n: number) => new Uint8Array(randomBytes(n));

const notice = (seq: number): DeliveryNotice => ({
  seq,
  messageId: bytes(16),
  kind: 'message',
  body: bytes(40),
  receivedAt: Date.now(),
  frame: bytes(60),
});

function waitFor<T>(get: () => T | undefined, ms = 2000): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const value = get();
      if (value !== undefined) resolve(value);
      else if (Date.now() > deadline) reject(new Error('timed out'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('NATS delivery bus', () => {
  let nodeA: NatsBus;
  let nodeB: NatsBus;
  before(async () => {
    const subjectPrefix = `ghostproof-test-${randomBytes(6).toString('hex')}`;
    nodeA = await NatsBus.connect({ servers: NATS_URL, subjectPrefix });
    nodeB = await NatsBus.connect({ servers: NATS_URL, subjectPrefix });
  });
  after(async () => {
    await nodeA.close();
    await nodeB.close();
  });

  it('encodes a notice and decodes it unchanged, and refuses bytes that are not one', () => {
    const n = notice(7);
    assert.deepEqual(decodeNotice(encodeNotice(n)), n);
    assert.equal(decodeNotice(new Uint8Array([9, 1, 2])), undefined);
    assert.equal(decodeNotice(encodeNotice(n).slice(0, 30)), undefined);
  });

  it('brings a notice for a mailbox connected to another node to it, and only to it', async () => {
    const gotB: DeliveryNotice[] = [];
    const gotOther: DeliveryNotice[] = [];
    const unsubscribe = nodeB.subscribe(
      { accountId: 1, deviceId: 1 },
      { deliver: (n) => gotB.push(n), catchUp: () => {} },
    );
    nodeB.subscribe({ accountId: 1, deviceId: 2 }, { deliver: (n) => gotOther.push(n), catchUp: () => {} });
    await nodeB.flush();
    const sent = notice(1);
    nodeA.publish({ accountId: 1, deviceId: 1 }, sent);
    const [received] = await waitFor(() => (gotB.length > 0 ? gotB : undefined));
    assert.deepEqual(received, sent);
    assert.equal(gotOther.length, 0);
    // After the connection left, nothing arrives for it.
    unsubscribe();
    await nodeB.flush();
    nodeA.publish({ accountId: 1, deviceId: 1 }, notice(2));
    await nodeA.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(gotB.length, 1);
  });

  it('delivers in process, without NATS, to a mailbox connected to the same node', () => {
    const got: DeliveryNotice[] = [];
    nodeA.subscribe({ accountId: 2, deviceId: 1 }, { deliver: (n) => got.push(n), catchUp: () => {} });
    const sent = notice(3);
    nodeA.publish({ accountId: 2, deviceId: 1 }, sent);
    assert.equal(got[0], sent);
  });
});
