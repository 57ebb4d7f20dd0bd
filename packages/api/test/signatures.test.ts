import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createCommit,
  createGroup,
  decode,
  defaultProposalTypes,
  encode,
  keyPackageEncoder,
  mlsMessageDecoder,
} from 'ts-mls';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  accountDeletionSignatureInput,
  ApiError,
  keyPackageSignatureInput,
  parseKeyPackage,
  signInSignatureInput,
  SIGN_IN_LABEL,
} from '@ghostproof/api';
import { mlsSamples, suites } from './helpers/ts-mls.js';

const ed = platformPrimitives.ed25519;
const origin = 'https://chat.example.org';
const nonce = (fill: number) => new Uint8Array(32).fill(fill);

describe('sign-in signature', () => {
  it('starts with the label and a zero byte and binds origin, both nonces, account and device', () => {
    const fields = { origin, serverNonce: nonce(1), clientNonce: nonce(2), username: 'alice', deviceId: 1 };
    const input = signInSignatureInput(fields);
    assert.deepEqual(
      input.subarray(0, SIGN_IN_LABEL.length + 1),
      new TextEncoder().encode(`${SIGN_IN_LABEL}\0`),
    );
    const variants = [
      { ...fields, origin: 'https://evil.example.org' },
      { ...fields, serverNonce: nonce(3) },
      { ...fields, clientNonce: nonce(3) },
      { ...fields, username: 'bob' },
      { ...fields, deviceId: 2 },
    ];
    for (const v of variants) assert.notDeepEqual(signInSignatureInput(v), input);
  });

  it('refuses a server nonce that is not exactly 32 bytes, and origins with a path', () => {
    const base = { origin, serverNonce: nonce(1), clientNonce: nonce(2), username: 'alice', deviceId: 1 };
    assert.throws(
      () => signInSignatureInput({ ...base, serverNonce: new Uint8Array(33) }),
      (e) => ApiError.is(e, 'malformed'),
    );
    assert.throws(
      () => signInSignatureInput({ ...base, origin: `${origin}/x` }),
      (e) => ApiError.is(e, 'malformed'),
    );
    assert.throws(
      () => signInSignatureInput({ ...base, deviceId: 0 }),
      (e) => ApiError.is(e, 'malformed'),
    );
  });

  for (const suite of suites) {
    it(`a challenge shaped like a KeyPackageTBS gets no usable signature (${suite.name})`, async () => {
      const s = await mlsSamples(suite.name);
      const victim = await ed.generate();
      // A malicious server wants the device's signature over a KeyPackage it built with the
      // device's signature key, so that it could add a ghost device in the device's name.
      const kp = parseKeyPackage(s.keyPackageMessages[1]!);
      const mlsContent = keyPackageSignatureInput(kp);

      // 1. The whole TBS (or its SignWithLabel content) as the challenge: refused outright.
      for (const challenge of [kp.tbs, mlsContent]) {
        assert.throws(
          () =>
            signInSignatureInput({
              origin,
              serverNonce: challenge,
              clientNonce: nonce(9),
              username: 'alice',
              deviceId: 1,
            }),
          (e) => ApiError.is(e, 'malformed'),
        );
      }

      // 2. Any 32-byte slice of it as the nonce: the device signs its own structure, which
      // starts with "ghostproof-auth-v1\0", never with MLS's label, so the signature does not
      // verify as a KeyPackage signature and ts-mls refuses the forged package.
      for (const offset of [0, mlsContent.length - 32]) {
        const serverNonce = mlsContent.slice(offset, offset + 32);
        const signed = signInSignatureInput({
          origin,
          serverNonce,
          clientNonce: nonce(9),
          username: 'alice',
          deviceId: 1,
        });
        assert.equal(signed[0], 'g'.charCodeAt(0));
        assert.notEqual(signed[0], mlsContent[0]);
        const signature = await ed.sign(victim.secretKey, signed);
        assert.equal(await ed.verify(victim.publicKey, mlsContent, signature), false);
      }

      // 3. Negative control: a device that signed the server's bytes as they came would hand
      // over a signature ts-mls accepts. Build the package with the victim's key, "sign the
      // challenge" both ways, and add each to a group.
      const original = s.keyPackages[1]!;
      const forgedBase = { ...original, leafNode: { ...original.leafNode } };
      const reparsed = parseKeyPackage(s.keyPackageMessages[1]!);
      const naiveSignature = await ed.sign(
        s.privatePackages[1]!.signaturePrivateKey,
        keyPackageSignatureInput(reparsed),
      );
      const ourSignature = await ed.sign(
        s.privatePackages[1]!.signaturePrivateKey,
        signInSignatureInput({
          origin,
          serverNonce: keyPackageSignatureInput(reparsed).slice(0, 32),
          clientNonce: nonce(9),
          username: 'alice',
          deviceId: 1,
        }),
      );
      const state = await createGroup({
        context: s.context,
        groupId: new Uint8Array(8),
        keyPackage: s.keyPackages[0]!,
        privateKeyPackage: s.privatePackages[0]!,
      });
      const addWith = async (signature: Uint8Array) => {
        const bytes = encode(keyPackageEncoder, { ...forgedBase, signature });
        const keyPackage = decode(mlsMessageDecoder, new Uint8Array([0, 1, 0, 5, ...bytes]));
        if (!keyPackage || keyPackage.wireformat !== 5) throw new Error('not a key package');
        return createCommit({
          context: s.context,
          state,
          extraProposals: [
            { proposalType: defaultProposalTypes.add, add: { keyPackage: keyPackage.keyPackage } },
          ],
        });
      };
      await addWith(naiveSignature); // the control: a signature over the server's bytes works
      await assert.rejects(addWith(ourSignature)); // ours never does
    });
  }
});

describe('account deletion signature', () => {
  it('has its own label and binds origin, account and sequence', () => {
    const input = accountDeletionSignatureInput({ origin, username: 'alice', sequence: 3n });
    assert.ok(new TextDecoder().decode(input).startsWith('ghostproof-delete-account-v1\0'));
    assert.notDeepEqual(accountDeletionSignatureInput({ origin, username: 'alice', sequence: 4n }), input);
    assert.throws(() => accountDeletionSignatureInput({ origin, username: 'alice', sequence: 0n }), ApiError);
  });
});
