// Wycheproof x25519_test.json against x25519.sharedSecret on every back end, and the
// small-order cases against our DHKEM, which is where the all-zero result is refused.
//
// How each case is judged (the file has only "valid" and "acceptable" results):
// - Expected shared secret not all zero (valid, and acceptable cases such as public keys on
//   the twist or in non-canonical form): the primitive must return exactly that value.
//   Wycheproof lets a library reject these, but RFC 7748 §5 defines the result and all three
//   back ends compute it; if one ever rejected them, that would change what peers we accept.
// - Expected shared secret all zero (flag ZeroSharedSecret: low-order public keys): the raw
//   primitive may throw or return zeros, but never anything else; DHKEM decap and encap must
//   refuse the key with CryptoError 'kem-failed' (RFC 9180 §7.1.4).
// - "invalid": the file has none; a tripwire below fails if some appear, so that someone
//   decides how to judge them instead of their being counted as computable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CryptoError } from '@ghostproof/crypto';
import { makeDhkemX25519 } from '../src/dhkem-x25519.js';
import { platformVariants } from './helpers/platforms.js';
import {
  assertExercised,
  fromHex,
  isAllZeroHex,
  loadWycheproof,
  toHex,
  type WycheproofTest,
} from './helpers/vectors.js';

interface XdhTest extends WycheproofTest {
  readonly public: string;
  readonly private: string;
  readonly shared: string;
}
interface XdhGroup {
  readonly curve: string;
  readonly tests: readonly XdhTest[];
}

const cases = loadWycheproof<XdhTest, XdhGroup>('x25519_test.json');
const computable = cases.filter((c) => !isAllZeroHex(c.test.shared));
const smallOrder = cases.filter((c) => isAllZeroHex(c.test.shared));

const kemFailed = (err: unknown) => CryptoError.is(err, 'kem-failed');

describe('Wycheproof x25519_test.json: classification', () => {
  it('has only valid and acceptable cases, each with a shared secret to check', () => {
    const invalid = cases.filter((c) => c.test.result === 'invalid').map((c) => c.test.tcId);
    assert.deepEqual(invalid, [], 'new invalid cases: extend the rules at the top of this file');
    assertExercised('all', computable.length + smallOrder.length, 518);
  });
});

for (const variant of platformVariants) {
  describe(`Wycheproof x25519_test.json on ${variant.name}`, () => {
    it('computes the expected shared secret for every peer key that has one', async () => {
      const platform = await variant.platform();
      for (const { test } of computable) {
        const shared = await platform.x25519.sharedSecret(fromHex(test.private), fromHex(test.public));
        assert.equal(toHex(shared), test.shared, `tcId ${test.tcId} ${test.comment ?? ''}`);
      }
      assertExercised('valid', computable.filter((c) => c.test.result === 'valid').length, 264);
      assertExercised('acceptable (twist, non-canonical)', computable.length, 487);
    });

    it('never yields anything but zero from a small-order peer key', async () => {
      const platform = await variant.platform();
      for (const { test } of smallOrder) {
        let shared: Uint8Array | undefined;
        try {
          shared = await platform.x25519.sharedSecret(fromHex(test.private), fromHex(test.public));
        } catch {
          continue; // refusing the key outright is fine
        }
        assert.equal(toHex(shared), test.shared, `tcId ${test.tcId} ${test.comment ?? ''}`);
      }
      assertExercised('zero shared secret', smallOrder.length, 31);
    });

    it('DHKEM refuses a small-order key as enc on decap and as recipient key on encap', async () => {
      const kem = makeDhkemX25519(await variant.platform());
      for (const { test } of smallOrder) {
        const peer = fromHex(test.public);
        await assert.rejects(kem.decap(peer, fromHex(test.private)), kemFailed, `decap, tcId ${test.tcId}`);
        await assert.rejects(kem.encap(peer), kemFailed, `encap, tcId ${test.tcId}`);
      }
      assertExercised('zero shared secret', smallOrder.length, 31);
    });
  });
}
