// Accounts, device lists and credentials as the protocol builds and checks them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@ghostproof/api';
import {
  addDeviceToList,
  createAccount,
  createAuthenticationService,
  decodeCredentialIdentity,
  encodeCredentialIdentity,
  generateKeyPair,
  ProtocolError,
  removeDeviceFromList,
  verifyDeviceList,
  VerifiedListDirectory,
} from '@ghostproof/protocol';

describe('identity', () => {
  it('a new account has one device in a list its identity key signed', async () => {
    const { account, device, deviceList } = await createAccount('Alice');
    assert.equal(account.username, 'alice');
    const list = await verifyDeviceList(deviceList.signed);
    assert.equal(list.sequence, 1n);
    assert.deepEqual(
      list.devices.map((d) => d.id),
      [device.deviceId],
    );
    assert.deepEqual(list.devices[0]?.signatureKey, device.signatureKey.publicKey);
    assert.deepEqual(list.identityKey, account.identityKey.publicKey);
  });

  it('linking and unlinking devices advance the sequence by exactly one each', async () => {
    const { account, deviceList } = await createAccount('alice');
    const laptop = await generateKeyPair();
    const { deviceId, deviceList: second } = await addDeviceToList(
      account,
      deviceList.list,
      laptop.publicKey,
    );
    assert.equal(deviceId, 2);
    assert.equal((await verifyDeviceList(second.signed)).sequence, 2n);
    const third = await removeDeviceFromList(account, second.list, 1);
    const list = await verifyDeviceList(third.signed);
    assert.equal(list.sequence, 3n);
    assert.deepEqual(
      list.devices.map((d) => d.id),
      [2],
    );
  });

  it('a list signed by another identity key does not verify', async () => {
    const alice = await createAccount('alice');
    const mallory = await createAccount('mallory');
    const forged = await (async () => {
      try {
        return await removeDeviceFromList(mallory.account, alice.deviceList.list, 1);
      } catch (e) {
        return e;
      }
    })();
    assert.ok(ProtocolError.is(forged, 'not-allowed'));
    const tampered = alice.deviceList.signed.slice();
    tampered[tampered.length - 1]! ^= 1;
    await assert.rejects(verifyDeviceList(tampered), (e) => ApiError.is(e, 'bad-signature'));
  });

  it('credential identities round-trip and refuse what is not canonical', () => {
    const bytes = encodeCredentialIdentity({ username: 'alice', deviceId: 3 });
    assert.deepEqual(decodeCredentialIdentity(bytes), { username: 'alice', deviceId: 3 });
    const upper = bytes.slice();
    upper[2] = 'A'.charCodeAt(0);
    assert.throws(
      () => decodeCredentialIdentity(upper),
      (e) => ProtocolError.is(e, 'malformed'),
    );
    assert.throws(
      () => decodeCredentialIdentity(bytes.subarray(0, 5)),
      (e) => ProtocolError.is(e, 'malformed'),
    );
  });

  it('the authentication service accepts only the key the device list names for that device', async () => {
    const { device, deviceList } = await createAccount('alice');
    const directory = new VerifiedListDirectory([await verifyDeviceList(deviceList.signed)]);
    const service = createAuthenticationService(directory);
    const credential = { credentialType: 1 as const, identity: encodeCredentialIdentity(device) };
    assert.equal(await service.validateCredential(credential, device.signatureKey.publicKey), true);
    const stranger = await generateKeyPair();
    assert.equal(await service.validateCredential(credential, stranger.publicKey), false);
    const otherDevice = {
      credentialType: 1 as const,
      identity: encodeCredentialIdentity({ username: 'alice', deviceId: 2 }),
    };
    assert.equal(await service.validateCredential(otherDevice, device.signatureKey.publicKey), false);
    const nobody = {
      credentialType: 1 as const,
      identity: encodeCredentialIdentity({ username: 'nobody', deviceId: 1 }),
    };
    assert.equal(await service.validateCredential(nobody, device.signatureKey.publicKey), false);
    assert.equal(
      await service.validateCredential(
        { credentialType: 2, certificates: [] },
        device.signatureKey.publicKey,
      ),
      false,
    );
  });

  it('the directory never replaces a newer list with an older one (a replayed list)', async () => {
    const { account, deviceList } = await createAccount('alice');
    const first = await verifyDeviceList(deviceList.signed);
    const laptop = await generateKeyPair();
    const second = await verifyDeviceList(
      (await addDeviceToList(account, first, laptop.publicKey)).deviceList.signed,
    );
    const directory = new VerifiedListDirectory([second]);
    directory.put(first);
    assert.equal((await directory.lookup('alice'))?.sequence, 2n);
  });
});
