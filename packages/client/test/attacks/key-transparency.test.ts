// A server that lies about keys: it substitutes someone's identity or device key, shows a
// ghost device list for one epoch and then reverts it, shows two people two different logs
// (a split view), or replays an old device list. The real server runs behind the
// malicious-server harness; the lies are real entries in its database and its key
// transparency log, or a second log signed with its own KT keys. Each test asserts what the
// people's apps show, and runs again with the defence off (the negative control).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSignedDeviceList, encodeDeviceList, encodeSignedDeviceList, routes } from '@ghostproof/api';
import { HttpApi, type Alarm } from '@ghostproof/client';
import { addDeviceToList, generateKeyPair, removeDeviceFromList } from '@ghostproof/protocol';
import type { MaliciousServer } from '../harness/malicious-server.js';
import { answerFromLog } from '../harness/malicious-server.js';
import type { Person } from '../harness/people.js';
import { attackerDevice, eventually, forgeDeviceList, textsOf } from '../harness/people.js';
import { register, withServer } from '../harness/scenario.js';
import { attackWithControl } from '@ghostproof/testkit/attack';

const GHOST = 5;
const CACHE_EXPIRED = 31_000;

function versionsAlarmed(alarms: readonly Alarm[]): number[] {
  return alarms.flatMap((a) => (a.kind === 'unknown-device' ? [a.version] : []));
}

function splitViews(alarms: readonly Alarm[]): (Alarm & { kind: 'split-view' })[] {
  return alarms.filter((a): a is Alarm & { kind: 'split-view' } => a.kind === 'split-view');
}

describe('a substituted identity or device key', () => {
  attackWithControl({
    caught:
      'identity and device key swapped in the log: alice is told bob’s identity changed before she writes, their safety numbers differ, bob’s app alarms',
    control:
      'identity and device key swapped, key transparency off (negative control): nobody is told and the impostor reads',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { keyTransparency: true };
        const alice = await register(harness, people, 'alice', off);
        const bob = await register(harness, people, 'bob', off);
        await alice.messenger.lookup('bob'); // alice has met bob: her app keeps his identity key
        // The operator replaces bob's list by one naming an impostor's device, signed with an
        // identity key of its own (it has not bob's), in its database and in the log.
        const impostorKey = await generateKeyPair();
        const forged = await forgeDeviceList('bob', 2n, [{ id: GHOST, signatureKey: impostorKey.publicKey }]);
        harness.database.setDeviceList('bob', forged.signed, forged.list);
        harness.database.addDevice('bob', GHOST, impostorKey.publicKey);
        await harness.logUpdate('bob', forged.signed, 2n);
        const impostor = await attackerDevice(harness, 'bob', GHOST, impostorKey, forged);
        people.push({ close: () => impostor.close() } as Person);
        await bob.restart();
        alice.advanceClock(CACHE_EXPIRED);
        const id = await alice.messenger.direct('bob');
        const toldBeforeWriting = [...alice.identityChanges];
        await alice.messenger.sendText(id, 'meet at noon');
        // An unverified contact is not blocked (a verified one is: ghost-devices.test.ts); the
        // notice is the defence, so the impostor reads in both runs.
        await eventually(async () => ((await textsOf(impostor)).includes('meet at noon') ? true : undefined));
        const [seenByAlice, seenByBob] = [
          await alice.messenger.safetyNumber('bob'),
          await bob.messenger.safetyNumber('alice'),
        ];
        // Safety numbers compared out of band differ either way: that check needs no server.
        assert.notDeepEqual(seenByAlice, seenByBob);
        await verdict({
          caught: async () => {
            assert.deepEqual(toldBeforeWriting, ['bob']);
            await eventually(() => (versionsAlarmed(bob.alarms).includes(2) ? true : undefined));
          },
          succeeded: async () => {
            assert.deepEqual(toldBeforeWriting, []);
            await bob.messenger.idle();
            assert.deepEqual(bob.alarms, []);
          },
        });
      });
    },
  });

  it('a device key swapped under bob’s real identity key is refused: the log holds a list bob never signed', async () => {
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice');
      const bob = await register(harness, people, 'bob');
      const real = await bob.ownList();
      const swapped = {
        ...real.list,
        sequence: 2n,
        devices: real.list.devices.map((d) => ({ ...d, signatureKey: new Uint8Array(32).fill(7) })),
      };
      // The server cannot sign with bob's identity key: it reuses his old signature.
      const signed = encodeSignedDeviceList({
        list: encodeDeviceList(swapped),
        signature: decodeSignedDeviceList(real.signed).signature,
      });
      harness.database.setDeviceList('bob', signed, swapped);
      await harness.logUpdate('bob', signed, 2n);
      await assert.rejects(alice.messenger.direct('bob'));
      assert.deepEqual(
        alice.alarms.map((a) => a.kind),
        ['kt-proof-invalid'],
      );
    });
  });

  it('(negative control for the device key) the signature check cannot be switched off: without key transparency the swap is refused too, and without the swap alice reaches bob', async () => {
    // The list's signature by the identity key is not a defence a switch can remove, so the
    // control is the same action through the unproven path, then without the tampering.
    await withServer(async (harness, people) => {
      const alice = await register(harness, people, 'alice', { keyTransparency: true });
      const bob = await register(harness, people, 'bob', { keyTransparency: true });
      const real = await bob.ownList();
      const swapped = {
        ...real.list,
        sequence: 2n,
        devices: real.list.devices.map((d) => ({ ...d, signatureKey: new Uint8Array(32).fill(7) })),
      };
      const signed = encodeSignedDeviceList({
        list: encodeDeviceList(swapped),
        signature: decodeSignedDeviceList(real.signed).signature,
      });
      harness.database.setDeviceList('bob', signed, swapped);
      await assert.rejects(alice.messenger.direct('bob'));
      harness.database.setDeviceList('bob', real.signed, real.list);
      alice.advanceClock(CACHE_EXPIRED);
      const id = await alice.messenger.direct('bob');
      await alice.messenger.sendText(id, 'hello');
      await eventually(async () => ((await bob.texts(id)).includes('hello') ? true : undefined));
    });
  });
});

describe('a ghost device list shown for one epoch and then reverted', () => {
  attackWithControl({
    caught: 'bob’s app, offline meanwhile, alarms at its next start on the version it never signed',
    control:
      'key transparency off (negative control): bob’s app shows nothing and his device list looks as it should',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { keyTransparency: true };
        const alice = await register(harness, people, 'alice', off);
        const bob = await register(harness, people, 'bob', off);
        await bob.close();
        const real = await bob.ownList();
        const ghostKey = await generateKeyPair();
        const withGhost = await forgeDeviceList('bob', 2n, [
          ...real.list.devices,
          { id: GHOST, signatureKey: ghostKey.publicKey },
        ]);
        harness.database.setDeviceList('bob', withGhost.signed, withGhost.list);
        harness.database.addDevice('bob', GHOST, ghostKey.publicKey);
        await harness.logUpdate('bob', withGhost.signed, 2n);
        const ghost = await attackerDevice(harness, 'bob', GHOST, ghostKey, withGhost);
        people.push({ close: () => ghost.close() } as Person);
        // While the ghost is listed, alice (who never met bob) writes to him: the ghost reads.
        const id = await alice.messenger.direct('bob');
        await alice.messenger.sendText(id, 'meet at noon');
        await eventually(async () => ((await textsOf(ghost)).includes('meet at noon') ? true : undefined));
        // Then the operator reverts bob's list: the ghost is gone from every current answer.
        const reverted = await forgeDeviceList('bob', 3n, real.list.devices, withGhost.identity);
        harness.database.setDeviceList('bob', reverted.signed, reverted.list);
        harness.database.removeDevice('bob', GHOST);
        await harness.logUpdate('bob', reverted.signed, 3n);
        await bob.restart();
        await verdict({
          caught: async () => {
            await eventually(() => (versionsAlarmed(bob.alarms).includes(2) ? true : undefined));
          },
          succeeded: async () => {
            await bob.messenger.idle();
            assert.deepEqual(
              bob.alarms.filter((a) => a.kind === 'unknown-device'),
              [],
            );
            assert.deepEqual(
              (await bob.messenger.lookup('bob')).devices.map((d) => d.id),
              [1],
              'the current list shows only bob’s own device',
            );
          },
        });
      });
    },
  });
});

/**
 * Alice and bob share a conversation. The operator then shows bob a fork of its log, signed
 * with its own KT keys, in which carol has a ghost device; alice and carol keep seeing the
 * real log, so carol's own monitoring finds nothing. `aheadBy` is how many epochs the fork
 * is longer than the real log when the two people next talk.
 */
async function splitView(harness: MaliciousServer, people: Person[], off: object, aheadBy: 0 | 1) {
  const alice = await register(harness, people, 'alice', off);
  const bob = await register(harness, people, 'bob', off);
  const carol = await register(harness, people, 'carol', off);
  const id = await alice.messenger.direct('bob');
  await alice.messenger.sendText(id, 'before');
  await eventually(async () => ((await bob.texts(id)).includes('before') ? true : undefined));
  await bob.messenger.accept(id);

  const fork = await harness.forkLog();
  const carols = await carol.ownList();
  const ghostKey = await generateKeyPair();
  const withGhost = await forgeDeviceList('carol', 2n, [
    ...carols.list.devices,
    { id: GHOST, signatureKey: ghostKey.publicKey },
  ]);
  await fork.append('carol', withGhost.signed);
  await fork.publishEpoch();
  if (aheadBy === 0) await harness.publishEpoch(); // the real log grows by one epoch too
  harness.serveLog('bob', fork);

  const carolAsBobSeesHer = await bob.messenger.lookup('carol');
  await alice.messenger.lookup('carol'); // alice's newest checkpoint: the real log's
  await carol.restart(); // carol monitors her account on the real log
  await carol.messenger.idle();
  return { alice, bob, carol, id, carolAsBobSeesHer };
}

describe('a split view: different logs shown to two people', () => {
  attackWithControl({
    caught: 'caught by both as soon as they exchange a message; both signed checkpoints are kept',
    control: 'checkpoint exchange off (negative control): bob keeps a ghost for carol and nobody is told',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { checkpointExchange: true };
        const { alice, bob, carol, id, carolAsBobSeesHer } = await splitView(harness, people, off, 0);
        assert.deepEqual(
          carolAsBobSeesHer.devices.map((d) => d.id),
          [1, GHOST],
          'bob’s verified lookup shows carol’s ghost',
        );
        assert.deepEqual(carol.alarms, [], 'carol’s monitoring of the real log shows nothing');
        await alice.messenger.sendText(id, 'hello bob');
        await eventually(async () => ((await bob.texts(id)).includes('hello bob') ? true : undefined));
        await bob.messenger.sendText(id, 'hello alice');
        await eventually(async () => ((await alice.texts(id)).includes('hello alice') ? true : undefined));
        await Promise.all([alice.messenger.idle(), bob.messenger.idle()]);
        await verdict({
          caught: async () => {
            const [atBob] = splitViews(bob.alarms);
            const [atAlice] = splitViews(alice.alarms);
            assert.ok(atBob && atAlice, 'both are alarmed');
            // Each keeps the two signed checkpoints: its own and the other's, which contradict.
            assert.deepEqual([...atBob.checkpoints].sort(), [...atAlice.checkpoints].sort());
            assert.notEqual(atBob.checkpoints[0], atBob.checkpoints[1]);
          },
          succeeded: async () => {
            assert.deepEqual(splitViews(bob.alarms), []);
            assert.deepEqual(splitViews(alice.alarms), []);
          },
        });
      });
    },
  });

  attackWithControl({
    caught: 'the fork one epoch ahead: caught by the one whose server cannot prove the other’s checkpoint',
    control: 'the fork one epoch ahead, checkpoint exchange off (negative control): nobody is told',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { checkpointExchange: true };
        const { alice, bob, id } = await splitView(harness, people, off, 1);
        await alice.messenger.sendText(id, 'hello bob');
        await eventually(async () => ((await bob.texts(id)).includes('hello bob') ? true : undefined));
        await bob.messenger.sendText(id, 'hello alice');
        await eventually(async () => ((await alice.texts(id)).includes('hello alice') ? true : undefined));
        await Promise.all([alice.messenger.idle(), bob.messenger.idle()]);
        // Alice's checkpoint is a prefix of bob's fork, so bob's (lying) server can prove it
        // consistent; alice's server cannot extend the real log to bob's checkpoint.
        assert.deepEqual(splitViews(bob.alarms), []);
        await verdict({
          caught: async () => {
            assert.equal(splitViews(alice.alarms).length > 0, true);
          },
          succeeded: async () => {
            assert.deepEqual(splitViews(alice.alarms), []);
          },
        });
      });
    },
  });
});

describe('a replayed old device list', () => {
  attackWithControl({
    caught:
      'an old list proven against an old checkpoint is refused with an alarm: bob’s removed phone gets nothing',
    control: 'key transparency off (negative control): alice adds bob’s removed phone and it reads',
    run: async ({ defence, verdict }) => {
      await withServer(async (harness, people) => {
        const off = defence ? {} : { keyTransparency: true };
        const alice = await register(harness, people, 'alice', off);
        const bob = await register(harness, people, 'bob', off);
        const account = { username: 'bob', identityKey: (await bob.ownList()).identity };
        const http = new HttpApi(harness.serverUrl);
        const update = async (signed: Uint8Array) => {
          await http.call(routes.updateDeviceList, {
            token: await bob.sessionToken(),
            body: { signedDeviceList: signed },
          });
          await harness.publishEpoch();
        };
        // Bob links a phone (version 2), then removes it (version 3): it was lost.
        const phoneKey = await generateKeyPair();
        const v1 = (await bob.ownList()).list;
        const { deviceId: phoneId, deviceList: v2 } = await addDeviceToList(account, v1, phoneKey.publicKey);
        await update(v2.signed);
        const sizeWithPhone = harness.logSize;
        const v3 = await removeDeviceFromList(account, v2.list, phoneId);
        await update(v3.signed);
        // Alice knows bob's current list (and the newest checkpoint).
        assert.deepEqual(
          (await alice.messenger.lookup('bob')).devices.map((d) => d.id),
          [1],
        );
        alice.advanceClock(CACHE_EXPIRED);

        // Whoever has the lost phone asks the operator to bring it back: the server answers
        // with version 2 again, genuinely signed by bob, and for alice's key transparency
        // lookups with a proof against the old checkpoint in which version 2 was current.
        harness.database.setDeviceList('bob', v2.signed, v2.list);
        harness.database.addDevice('bob', phoneId, phoneKey.publicKey);
        const oldLog = await harness.forkLog(sizeWithPhone);
        harness.onHttp((request) =>
          request.viewer === 'alice' && request.route.name === 'ktLookup' && request.params.username === 'bob'
            ? answerFromLog(oldLog, request)
            : undefined,
        );
        const phone = await attackerDevice(harness, 'bob', phoneId, phoneKey, {
          identity: account.identityKey,
          signed: v2.signed,
        });
        people.push({ close: () => phone.close() } as Person);

        await verdict({
          caught: async () => {
            await assert.rejects(alice.messenger.direct('bob'));
            assert.deepEqual(alice.alarms, [{ kind: 'kt-proof-invalid', username: 'bob' }]);
            await phone.idle();
            assert.deepEqual(await phone.listConversations(), []);
          },
          succeeded: async () => {
            const id = await alice.messenger.direct('bob');
            await alice.messenger.sendText(id, 'meet at noon');
            await eventually(async () =>
              (await textsOf(phone)).includes('meet at noon') ? true : undefined,
            );
            assert.deepEqual(alice.alarms, []);
          },
        });
      });
    },
  });
});
