// Wycheproof mlkem_768_test.json against @noble/post-quantum's ML-KEM-768, the KEM inside
// our X-Wing. Every group is of type MLKEMTest: a 64-byte seed (d || z) from which KeyGen
// gives the encapsulation key ek, and a ciphertext c that Decaps turns into K. Valid cases
// include ciphertexts that are random or bit-flipped: ML-KEM rejects those implicitly, by
// returning the pseudo-random key J(z || c), which the vector gives. Invalid cases are seeds
// (the file's "private key") or ciphertexts of the wrong length, which must be refused.
// The file has no encapsulation or key-check groups; X-Wing's key check is in xwing.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { assertExercised, fromHex, loadWycheproof, toHex, type WycheproofTest } from './helpers/vectors.js';

interface MlKemTest extends WycheproofTest {
  readonly seed: string;
  /** Absent when the seed is malformed. */
  readonly ek?: string;
  readonly c: string;
  /** Empty when decapsulation must fail. */
  readonly K: string;
}
interface MlKemGroup {
  readonly type: string;
  readonly parameterSet: string;
  readonly tests: readonly MlKemTest[];
}

const SEED_LENGTH = 64;
const CIPHERTEXT_LENGTH = 1088;

const cases = loadWycheproof<MlKemTest, MlKemGroup>('mlkem_768_test.json');
const valid = cases.filter((c) => c.test.result === 'valid');
const invalid = cases.filter((c) => c.test.result === 'invalid');
// The file marks implicit rejection only in its comments.
const implicitlyRejected = valid.filter((c) =>
  /random ciphertext|bit flipped ciphertext/i.test(c.test.comment ?? ''),
);
const honest = valid.filter((c) => !implicitlyRejected.includes(c));
const badSeed = invalid.filter((c) => c.test.seed.length / 2 !== SEED_LENGTH);
const badCiphertext = invalid.filter(
  (c) => c.test.seed.length / 2 === SEED_LENGTH && c.test.c.length / 2 !== CIPHERTEXT_LENGTH,
);

function decapsulate(seedHex: string, ciphertextHex: string): string {
  const { secretKey } = ml_kem768.keygen(fromHex(seedHex));
  return toHex(ml_kem768.decapsulate(fromHex(ciphertextHex), secretKey));
}

describe('Wycheproof mlkem_768_test.json (ML-KEM-768 from @noble/post-quantum)', () => {
  it('holds only ML-KEM-768 decapsulation-from-seed groups, each case in a known bucket', () => {
    for (const { group } of cases) {
      assert.equal(group.type, 'MLKEMTest');
      assert.equal(group.parameterSet, 'ML-KEM-768');
    }
    assert.equal(badSeed.length + badCiphertext.length, invalid.length, 'an invalid case of unknown kind');
  });

  it('derives the expected encapsulation key from every well-formed seed', () => {
    const withKey = cases.filter((c) => c.test.ek !== undefined);
    for (const { test } of withKey) {
      assert.equal(toHex(ml_kem768.keygen(fromHex(test.seed)).publicKey), test.ek, `tcId ${test.tcId}`);
    }
    assertExercised('with ek', withKey.length, 173);
  });

  it('decapsulates every honest ciphertext to the expected key', () => {
    for (const { test } of honest) {
      assert.equal(decapsulate(test.seed, test.c), test.K, `tcId ${test.tcId} ${test.comment ?? ''}`);
    }
    assertExercised('valid', honest.length, 133);
  });

  it('answers a random or bit-flipped ciphertext with the implicit-rejection key, not an error', () => {
    for (const { test } of implicitlyRejected) {
      const key = decapsulate(test.seed, test.c);
      assert.equal(key.length, 64);
      assert.equal(key, test.K, `tcId ${test.tcId} ${test.comment ?? ''}`);
    }
    assertExercised('implicit rejection', implicitlyRejected.length, 20);
  });

  it('refuses a seed that is too short or too long', () => {
    for (const { test } of badSeed) {
      assert.throws(() => ml_kem768.keygen(fromHex(test.seed)), `tcId ${test.tcId} ${test.comment ?? ''}`);
    }
    assertExercised('invalid seed', badSeed.length, 20);
  });

  it('refuses a ciphertext that is too short or too long', () => {
    for (const { test } of badCiphertext) {
      const { secretKey } = ml_kem768.keygen(fromHex(test.seed));
      assert.throws(
        () => ml_kem768.decapsulate(fromHex(test.c), secretKey),
        `tcId ${test.tcId} ${test.comment ?? ''}`,
      );
    }
    assertExercised('invalid ciphertext', badCiphertext.length, 20);
  });
});
