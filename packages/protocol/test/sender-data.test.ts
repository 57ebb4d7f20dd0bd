// The conversation reads a PrivateMessage's sender data itself (to tell a replay from a
// message too far ahead, and to count generations); it must read exactly what ts-mls reads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, mlsMessageDecoder } from 'ts-mls';
import { body } from '@ghostproof/protocol';
import { decryptSenderData } from '../../../node_modules/ts-mls/dist/src/privateMessage.js';
import { readSenderData } from '../src/sender-data.js';
import { groupOf, suites, World } from './helpers/people.js';
import { attackerContext, rawState } from './helpers/raw-mls.js';

for (const [suiteName, cipherSuite] of suites) {
  describe(`sender data (${suiteName})`, () => {
    it('reads the leaf and generation ts-mls reads, and nothing from altered bytes', async () => {
      const world = new World(cipherSuite);
      const alice = await world.person('alice');
      const bob = await world.person('bob');
      const convs = await groupOf(world, alice, [bob]);
      const bobConv = convs.get('bob/1')!;
      const cs = (await attackerContext(cipherSuite)).cipherSuite;
      for (let i = 0; i < 3; i++) {
        const { message } = await bobConv.encrypt(body.text(`message ${i}`));
        const decoded = decode(mlsMessageDecoder, message);
        assert.ok(decoded?.wireformat === 2);
        const secret = rawState(convs.get('alice/1')!).keySchedule.senderDataSecret;
        const ours = await readSenderData(cs, secret, decoded.privateMessage);
        const theirs = await decryptSenderData(decoded.privateMessage, secret, cs);
        assert.deepEqual(ours, { leafIndex: theirs!.leafIndex, generation: theirs!.generation });
        assert.equal(ours?.generation, i);
        const altered = new Uint8Array(decoded.privateMessage.encryptedSenderData);
        altered[0]! ^= 1;
        assert.equal(
          await readSenderData(cs, secret, { ...decoded.privateMessage, encryptedSenderData: altered }),
          undefined,
        );
      }
    });
  });
}
