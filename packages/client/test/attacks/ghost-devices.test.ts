// A server that adds a device to someone's account (a "ghost") or swaps their keys, so that
// the people who write to them also write to the server. Every test runs the real server
// behind the malicious-server harness and asserts what the people's apps show; each runs a
// second time with the defence switched off (the negative control), where the attack works.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { ClientError, type Alarm } from '@ghostproof/client';
import { generateKeyPair } from '@ghostproof/protocol';
import { attackerDevice, eventually, forgeDeviceList, Person, textsOf } from '../harness/people.js';
import { withServer } from '../harness/scenario.js';
import { attackWithControl } from '@ghostproof/testkit/attack';

const GHOST = 5;
const CACHE_EXPIRED = 31_000;

function unknownDeviceVersions(alarms: readonly Alarm[]): number[] {
  return alarms.flatMap((a) => (a.kind === 'unknown-device' ? [a.version] : []));
}

describe('a ghost device injected into a device list', () => {
  attackWithControl({
    caught: 'served outside the log: clients that verify key transparency never see it',
    control: 'served outside the log, key transparency off (negative control): the ghost reads',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness) => {
        const off = defence ? {} : { keyTransparency: true };
        const alice = await Person.register(harness, 'alice', off);
        const bob = await Person.register(harness, 'bob', off);
        // The operator adds a ghost device to bob's account in its database only: its own
        // answer to "what are bob's devices", its sign-in and key-package tables.
        const ghostKey = await generateKeyPair();
        const real = await bob.ownList();
        const forged = await forgeDeviceList('bob', 2n, [
          ...real.list.devices,
          { id: GHOST, signatureKey: ghostKey.publicKey },
        ]);
        harness.database.setDeviceList('bob', forged.signed, forged.list);
        harness.database.addDevice('bob', GHOST, ghostKey.publicKey);
        const ghost = await attackerDevice(harness, 'bob', GHOST, ghostKey, forged);
        try {
          const id = await alice.messenger.direct('bob');
          await alice.messenger.sendText(id, 'meet at noon');
          await eventually(async () => ((await bob.texts(id)).includes('meet at noon') ? true : undefined));
          const bobsDevices = (await alice.messenger.members(id)).find(
            (m) => m.username === 'bob',
          )?.deviceIds;
          await verdict({
            caught: async () => {
              assert.deepEqual(bobsDevices, [1], 'alice’s app shows bob with his one real device');
              await ghost.idle();
              assert.deepEqual(await textsOf(ghost), [], 'the ghost was never added');
            },
            succeeded: async () => {
              assert.deepEqual(bobsDevices, [1, GHOST]);
              await eventually(async () =>
                (await textsOf(ghost)).includes('meet at noon') ? true : undefined,
              );
            },
          });
          assert.deepEqual(alice.alarms, []);
        } finally {
          await ghost.close();
          await alice.close();
          await bob.close();
        }
      });
    },
  });

  attackWithControl({
    caught:
      'logged in key transparency: bob’s app alarms at its next start, alice is told bob’s identity changed and, having verified him, cannot send',
    control:
      'logged in key transparency, key transparency off (negative control): nobody is told and the ghost reads',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness) => {
        const off = defence ? {} : { keyTransparency: true };
        const alice = await Person.register(harness, 'alice', off);
        const bob = await Person.register(harness, 'bob', off);
        // Alice compared safety numbers with bob and marked him verified.
        assert.deepEqual(
          await alice.messenger.safetyNumber('bob'),
          await bob.messenger.safetyNumber('alice'),
        );
        await alice.messenger.markVerified('bob');
        // The operator does it properly: the ghost's list is in the log too, so that clients
        // verifying key transparency get it with a valid proof.
        const ghostKey = await generateKeyPair();
        const real = await bob.ownList();
        const forged = await forgeDeviceList('bob', 2n, [
          ...real.list.devices,
          { id: GHOST, signatureKey: ghostKey.publicKey },
        ]);
        harness.database.setDeviceList('bob', forged.signed, forged.list);
        harness.database.addDevice('bob', GHOST, ghostKey.publicKey);
        await harness.logUpdate('bob', forged.signed, 2n);
        const ghost = await attackerDevice(harness, 'bob', GHOST, ghostKey, forged);
        try {
          // Bob's app starts again (monitoring runs on every connect).
          await bob.restart();
          alice.advanceClock(CACHE_EXPIRED);
          const id = await alice.messenger.direct('bob');
          await verdict({
            caught: async () => {
              await eventually(() => (unknownDeviceVersions(bob.alarms).includes(2) ? true : undefined));
              assert.deepEqual(alice.identityChanges, ['bob']);
              await assert.rejects(alice.messenger.sendText(id, 'meet at noon'), (e) =>
                ClientError.is(e, 'identity-changed'),
              );
              await ghost.idle();
              assert.deepEqual(await textsOf(ghost), [], 'nothing was sent');
              // Once alice acknowledges the change, bob is no longer verified: her app says so.
              await alice.messenger.acknowledgeIdentityChange('bob');
            },
            succeeded: async () => {
              await alice.messenger.sendText(id, 'meet at noon');
              await eventually(async () =>
                (await textsOf(ghost)).includes('meet at noon') ? true : undefined,
              );
              await bob.messenger.idle();
              assert.deepEqual(bob.alarms, []);
              assert.deepEqual(alice.identityChanges, []);
            },
          });
          assert.deepEqual(
            (await alice.messenger.members(id)).find((m) => m.username === 'bob')?.deviceIds,
            [1, GHOST],
            'either way the roster alice sees names the extra device',
          );
        } finally {
          await ghost.close();
          await alice.close();
          await bob.close();
        }
      });
    },
  });
});
