// Lookup, monitoring and consistency proofs end to end: an operator on an in-memory store
// serves them and the client verifier checks them. Each attack a server could try on a
// client is modelled next to its negative control (the same check on honest data passes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  KtError,
  KtLogOperator,
  MemoryKtStore,
  decodeLookupProof,
  decodeMonitorProof,
  encodeLookupProof,
  encodeMonitorProof,
  noteVerifierKey,
  openCheckpoint,
  signCheckpoint,
  verifyConsistencyProof,
  verifyLookupProof,
  verifyMonitorProof,
  type KtTrustAnchor,
} from '../src/index.js';
import { utf8 } from '../src/bytes.js';
import { seededRandom } from './helpers.js';

const origin = 'chat.example/kt';
const signingKey = seededRandom(1)(32);
const vrfSecretKey = seededRandom(2)(32);

async function makeOperator(store = new MemoryKtStore(), seed = 3) {
  let clock = 1_700_000_000_000;
  return KtLogOperator.open({
    store,
    origin,
    signingKey,
    vrfSecretKey,
    now: () => (clock += 1000),
    randomBytes: seededRandom(seed),
  });
}

const code = (c: string) => (e: unknown) => KtError.is(e, c as never);

describe('lookup proofs', () => {
  it('prove the latest value of an account, and the absence of another', async () => {
    const op = await makeOperator();
    const anchor = op.trustAnchor;
    await op.append('alice', utf8('alice v1'));
    await op.append('bob', utf8('bob v1'));
    await op.publishEpoch();
    await op.append('alice', utf8('alice v2'));
    await op.publishEpoch();
    const alice = verifyLookupProof(anchor, 'alice', await op.proveLookup('alice'));
    assert.equal(alice.version, 2);
    assert.deepEqual(alice.value, utf8('alice v2'));
    assert.equal(alice.checkpoint.size, 3);
    const carol = verifyLookupProof(anchor, 'carol', await op.proveLookup('carol'));
    assert.equal(carol.version, 0);
    assert.equal(carol.value, undefined);
  });

  it('rejects a substituted value (a server swapping a key), while the honest proof passes', async () => {
    const op = await makeOperator();
    await op.append('alice', utf8('alice key A'));
    await op.publishEpoch();
    const honest = await op.proveLookup('alice');
    assert.equal(verifyLookupProof(op.trustAnchor, 'alice', honest).version, 1);
    const p = decodeLookupProof(honest);
    const swapped = encodeLookupProof({ ...p, latest: { ...p.latest!, value: utf8('mallory key M') } });
    assert.throws(() => verifyLookupProof(op.trustAnchor, 'alice', swapped), code('verification-failed'));
  });

  it('rejects a proof served for another account’s label (bad VRF proof), while the right one passes', async () => {
    const op = await makeOperator();
    await op.append('alice', utf8('a'));
    await op.append('bob', utf8('b'));
    await op.publishEpoch();
    const bobProof = await op.proveLookup('bob');
    assert.equal(verifyLookupProof(op.trustAnchor, 'bob', bobProof).version, 1);
    assert.throws(() => verifyLookupProof(op.trustAnchor, 'alice', bobProof), code('verification-failed'));
  });

  it('rejects "absent" for an account that exists (a hidden account), while the honest proof passes', async () => {
    const op = await makeOperator();
    await op.append('alice', utf8('a'));
    await op.publishEpoch();
    const p = decodeLookupProof(await op.proveLookup('alice'));
    const { latest: _dropped, ...absent } = p;
    assert.throws(
      () => verifyLookupProof(op.trustAnchor, 'alice', encodeLookupProof(absent)),
      code('verification-failed'),
    );
    assert.equal(verifyLookupProof(op.trustAnchor, 'alice', encodeLookupProof(p)).version, 1);
  });

  it('rejects a checkpoint signed by a key other than the pinned one', async () => {
    const op = await makeOperator();
    await op.append('alice', utf8('a'));
    await op.publishEpoch();
    const p = decodeLookupProof(await op.proveLookup('alice'));
    const cp = openCheckpoint(p.checkpoint, op.trustAnchor.logKey);
    const forged = encodeLookupProof({ ...p, checkpoint: signCheckpoint(cp, seededRandom(99)(32)) });
    assert.throws(() => verifyLookupProof(op.trustAnchor, 'alice', forged), code('verification-failed'));
    const otherAnchor: KtTrustAnchor = {
      ...op.trustAnchor,
      logKey: noteVerifierKey(origin, ed25519.getPublicKey(seededRandom(99)(32))),
    };
    assert.throws(
      () => verifyLookupProof(otherAnchor, 'alice', encodeLookupProof(p)),
      code('verification-failed'),
    );
  });

  it('refuses a rolled-back checkpoint or a fork at the size the client holds', async () => {
    const op = await makeOperator();
    await op.append('alice', utf8('a'));
    await op.publishEpoch();
    const old = verifyLookupProof(op.trustAnchor, 'alice', await op.proveLookup('alice'));
    await op.publishEpoch();
    const now = verifyLookupProof(op.trustAnchor, 'alice', await op.proveLookup('alice'), {
      previous: old.checkpoint,
    });
    assert.equal(now.checkpoint.size, old.checkpoint.size + 1);
    // Rollback: the newer client is shown the older state.
    const oldProof = await (async () => {
      const op2 = await makeOperator();
      await op2.append('alice', utf8('a'));
      await op2.publishEpoch();
      return op2.proveLookup('alice');
    })();
    assert.throws(
      () => verifyLookupProof(op.trustAnchor, 'alice', oldProof, { previous: now.checkpoint }),
      code('inconsistent'),
    );
    // Fork: a log with the same keys and size but another history.
    const fork = await makeOperator(new MemoryKtStore(), 77);
    await fork.append('alice', utf8('a'));
    await fork.publishEpoch();
    await fork.publishEpoch();
    const forked = await fork.proveLookup('alice');
    assert.equal(verifyLookupProof(fork.trustAnchor, 'alice', forked).checkpoint.size, now.checkpoint.size);
    assert.throws(
      () => verifyLookupProof(op.trustAnchor, 'alice', forked, { previous: now.checkpoint }),
      code('inconsistent'),
    );
  });
});

describe('monitoring proofs', () => {
  it('show every version since the device’s last check, including two in one epoch', async () => {
    const op = await makeOperator();
    const anchor = op.trustAnchor;
    await op.append('alice', utf8('v1'));
    await op.publishEpoch();
    const first = verifyMonitorProof(anchor, 'alice', undefined, await op.proveMonitor('alice', 0));
    assert.deepEqual(
      first.versions.map((v) => v.version),
      [1],
    );
    await op.append('alice', utf8('v2'));
    await op.append('alice', utf8('v3'));
    await op.publishEpoch();
    await op.append('alice', utf8('v4'));
    await op.publishEpoch();
    const next = verifyMonitorProof(anchor, 'alice', first.state, await op.proveMonitor('alice', 1));
    assert.deepEqual(
      next.versions.map((v) => new TextDecoder().decode(v.value)),
      ['v2', 'v3', 'v4'],
    );
    assert.equal(next.state.version, 4);
    const quiet = verifyMonitorProof(anchor, 'alice', next.state, await op.proveMonitor('alice', 4));
    assert.equal(quiet.versions.length, 0);
  });

  it('rejects a monitoring proof that hides a version (a ghost device added and removed), honest passes', async () => {
    const op = await makeOperator();
    await op.append('alice', utf8('my devices'));
    await op.publishEpoch();
    const state = verifyMonitorProof(
      op.trustAnchor,
      'alice',
      undefined,
      await op.proveMonitor('alice', 0),
    ).state;
    await op.append('alice', utf8('my devices + ghost'));
    await op.append('alice', utf8('my devices'));
    await op.publishEpoch();
    const honest = await op.proveMonitor('alice', 1);
    assert.equal(verifyMonitorProof(op.trustAnchor, 'alice', state, honest).versions.length, 2);
    const p = decodeMonitorProof(honest);
    const hidden = encodeMonitorProof({ ...p, versions: [p.versions[1]!, p.versions[1]!] });
    assert.throws(
      () => verifyMonitorProof(op.trustAnchor, 'alice', state, hidden),
      code('verification-failed'),
    );
    const dropped = encodeMonitorProof({ ...p, versions: [p.versions[1]!] });
    assert.throws(
      () => verifyMonitorProof(op.trustAnchor, 'alice', state, dropped),
      code('verification-failed'),
    );
  });
});

describe('checkpoint consistency and restart', () => {
  it('proves consistency between checkpoints; a log that rewrote or dropped history cannot', async () => {
    const store = new MemoryKtStore();
    const op = await makeOperator(store);
    await op.append('alice', utf8('a1'));
    await op.publishEpoch();
    await op.append('bob', utf8('b1'));
    await op.publishEpoch();
    const older = openCheckpoint(op.checkpoint, op.trustAnchor.logKey);
    await op.append('carol', utf8('c1'));
    await op.publishEpoch();
    await op.publishEpoch();
    const newer = verifyConsistencyProof(
      op.trustAnchor,
      older,
      op.checkpoint,
      op.proveConsistency(older.size),
    );
    assert.equal(newer.size, 5);

    // The same keys, but bob's registration was dropped from the history.
    const evil = await makeOperator();
    await evil.append('alice', utf8('a1'));
    await evil.publishEpoch();
    await evil.publishEpoch();
    await evil.append('carol', utf8('c1'));
    await evil.publishEpoch();
    await evil.publishEpoch();
    assert.throws(
      () =>
        verifyConsistencyProof(evil.trustAnchor, older, evil.checkpoint, evil.proveConsistency(older.size)),
      code('inconsistent'),
    );
  });

  it('reopens from its store with the same log and keeps serving valid proofs', async () => {
    const store = new MemoryKtStore();
    const op = await makeOperator(store);
    await op.append('alice', utf8('a1'));
    await op.publishEpoch();
    await op.append('alice', utf8('a2'));
    const reopened = await makeOperator(store, 5);
    assert.equal(reopened.checkpoint, op.checkpoint);
    assert.equal(reopened.pendingCount, 1);
    await reopened.publishEpoch();
    const lookup = verifyLookupProof(reopened.trustAnchor, 'alice', await reopened.proveLookup('alice'));
    assert.equal(lookup.version, 2);
    verifyConsistencyProof(
      reopened.trustAnchor,
      openCheckpoint(op.checkpoint, op.trustAnchor.logKey),
      reopened.checkpoint,
      reopened.proveConsistency(op.size),
    );
  });

  it('stops serving after a failed store write, and serves again once reopened from the store', async () => {
    const store = new MemoryKtStore();
    const op = await makeOperator(store);
    await op.append('alice', utf8('a1'));
    const failing = Object.assign(Object.create(store) as MemoryKtStore, {
      commitEpoch: async () => {
        throw new Error('disk full');
      },
    });
    const flaky = await makeOperator(failing);
    await assert.rejects(flaky.publishEpoch(), /disk full/);
    await assert.rejects(flaky.proveLookup('alice'), code('internal'));
    // Nothing was committed: reopening from the store finds the update still pending.
    const reopened = await makeOperator(store);
    assert.equal(reopened.pendingCount, 1);
    await reopened.publishEpoch();
    assert.equal(
      verifyLookupProof(reopened.trustAnchor, 'alice', await reopened.proveLookup('alice')).version,
      1,
    );
  });
});

describe('one log shared by several nodes', () => {
  async function follower(store: MemoryKtStore, key = signingKey) {
    return KtLogOperator.open({ store, origin, signingKey: key, vrfSecretKey, follower: true });
  }

  it('a follower catches up with the writer’s epochs and serves the same verifiable proofs', async () => {
    const store = new MemoryKtStore();
    const writer = await makeOperator(store);
    const reader = await follower(store);
    assert.equal(reader.size, 1);
    await writer.append('alice', utf8('a1'));
    await writer.publishEpoch();
    // Before syncing, the follower answers from the epoch it has: alice is not there yet.
    assert.equal(
      verifyLookupProof(reader.trustAnchor, 'alice', await reader.proveLookup('alice')).version,
      0,
    );
    assert.equal(await reader.sync(), 2);
    const seen = verifyLookupProof(reader.trustAnchor, 'alice', await reader.proveLookup('alice'));
    assert.equal(seen.version, 1);
    assert.equal(reader.checkpoint, writer.checkpoint);
    assert.deepEqual(reader.proveConsistency(1), writer.proveConsistency(1));
    assert.deepEqual(await reader.proveAudit(0), await writer.proveAudit(0));
  });

  it('a follower neither appends nor publishes, and opens on an empty log without a genesis', async () => {
    const store = new MemoryKtStore();
    const reader = await follower(store);
    assert.equal(reader.size, 0);
    assert.equal(store.unsafeEpochsForTesting().length, 0);
    await assert.rejects(reader.proveLookup('alice'), code('not-found'));
    await assert.rejects(reader.append('alice', utf8('a1')), code('internal'));
    await assert.rejects(reader.publishEpoch(), code('internal'));
    await makeOperator(store);
    assert.equal(await reader.sync(), 1);
  });

  it('refuses a shared log signed with another key (a node with the wrong key file)', async () => {
    const store = new MemoryKtStore();
    const writer = await makeOperator(store);
    await writer.append('alice', utf8('a1'));
    await writer.publishEpoch();
    await assert.rejects(follower(store, seededRandom(9)(32)), code('verification-failed'));
    // Negative control: the right key file opens it.
    assert.equal((await follower(store)).size, 2);
  });

  it('refuses to catch up past an epoch that does not replay to its prefix root', async () => {
    const store = new MemoryKtStore();
    const writer = await makeOperator(store);
    const reader = await follower(store);
    await writer.append('alice', utf8('a1'));
    await writer.publishEpoch();
    const epochs = store.unsafeEpochsForTesting();
    const last = epochs[epochs.length - 1]!;
    epochs[epochs.length - 1] = { epoch: last.epoch, updates: [] };
    await assert.rejects(reader.sync(), code('internal'));
    await assert.rejects(reader.proveLookup('alice'), code('internal'));
    // Negative control: the untouched history replays.
    epochs[epochs.length - 1] = last;
    assert.equal((await follower(store)).size, 2);
  });
});
