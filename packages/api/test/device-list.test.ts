import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { platformPrimitives } from '@ghostproof/crypto';
import {
  ApiError,
  decodeDeviceList,
  deviceListSignatureInput,
  encodeDeviceList,
  encodeSignedDeviceList,
  MAX_DEVICES,
  verifySignedDeviceList,
  type DeviceList,
} from '@ghostproof/api';

const ed = platformPrimitives.ed25519;
const verify = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) => ed.verify(pk, msg, sig);

async function signedList(overrides: Partial<DeviceList> = {}) {
  const identity = await ed.generate();
  const device = await ed.generate();
  const list: DeviceList = {
    username: 'alice',
    identityKey: identity.publicKey,
    sequence: 1n,
    issuedAt: 1_700_000_000_000n,
    devices: [{ id: 1, signatureKey: device.publicKey, addedAt: 1_700_000_000_000n }],
    ...overrides,
  };
  const encoded = encodeDeviceList(list);
  const signature = await ed.sign(identity.secretKey, deviceListSignatureInput(encoded));
  return { list, encoded, signed: encodeSignedDeviceList({ list: encoded, signature }), identity };
}

describe('signed device list', () => {
  it('round-trips and verifies under the identity key it names', async () => {
    const { list, signed } = await signedList();
    const decoded = await verifySignedDeviceList(signed, verify);
    assert.equal(decoded.username, 'alice');
    assert.deepEqual(decoded.devices, list.devices);
    assert.deepEqual(decoded.identityKey, list.identityKey);
  });

  it('refuses a list whose device key was swapped after signing', async () => {
    const { signed } = await signedList();
    const tampered = signed.slice();
    // Offset: u16 length, format, name length, "alice", identity key, sequence, issuedAt, count, id.
    tampered[2 + 1 + 1 + 5 + 32 + 8 + 8 + 1 + 4]! ^= 1;
    await assert.rejects(verifySignedDeviceList(tampered, verify), (e) => ApiError.is(e, 'bad-signature'));
  });

  it('refuses a list signed by a key other than the identity key it names', async () => {
    const { encoded } = await signedList();
    const stranger = await ed.generate();
    const signature = await ed.sign(stranger.secretKey, deviceListSignatureInput(encoded));
    await assert.rejects(
      verifySignedDeviceList(encodeSignedDeviceList({ list: encoded, signature }), verify),
      (e) => ApiError.is(e, 'bad-signature'),
    );
  });

  it('a signature over the bare list, without the domain label, does not verify', async () => {
    const { encoded, identity } = await signedList();
    const signature = await ed.sign(identity.secretKey, encoded);
    await assert.rejects(
      verifySignedDeviceList(encodeSignedDeviceList({ list: encoded, signature }), verify),
      (e) => ApiError.is(e, 'bad-signature'),
    );
  });

  it('rejects truncated, padded and oversized input with typed errors', async () => {
    const { encoded } = await signedList();
    for (let cut = 0; cut < encoded.length; cut++) {
      assert.throws(
        () => decodeDeviceList(encoded.subarray(0, cut)),
        (e) => ApiError.is(e, 'malformed'),
      );
    }
    const padded = new Uint8Array(encoded.length + 1);
    padded.set(encoded);
    assert.throws(
      () => decodeDeviceList(padded),
      (e) => ApiError.is(e, 'malformed'),
    );
    assert.throws(
      () => decodeDeviceList(new Uint8Array(10_000)),
      (e) => ApiError.is(e, 'too-large'),
    );
  });

  it('keeps devices canonical: ascending unique ids, 1 to 16 devices, canonical username', async () => {
    const key = new Uint8Array(32);
    const device = (id: number) => ({ id, signatureKey: key, addedAt: 0n });
    const base = { username: 'alice', identityKey: key, sequence: 1n, issuedAt: 0n };
    assert.throws(() => encodeDeviceList({ ...base, devices: [device(2), device(1)] }), ApiError);
    assert.throws(() => encodeDeviceList({ ...base, devices: [device(1), device(1)] }), ApiError);
    assert.throws(() => encodeDeviceList({ ...base, devices: [] }), ApiError);
    const many = Array.from({ length: MAX_DEVICES + 1 }, (_, i) => device(i + 1));
    assert.throws(() => encodeDeviceList({ ...base, devices: many }), ApiError);
    assert.throws(() => encodeDeviceList({ ...base, username: 'Alice', devices: [device(1)] }), ApiError);
    assert.throws(() => encodeDeviceList({ ...base, sequence: 0n, devices: [device(1)] }), ApiError);
  });
});
