// Competing commits through two nodes, as members see them: three people in one group, on
// two nodes sharing a fresh PostgreSQL database and NATS, commit at the same moment through
// different nodes. The epoch compare-and-set takes one commit per epoch; the clients whose
// commit lost (stale-epoch) apply the winner's and commit again. Every member ends in the
// same epoch with the same group code, and a message after it reaches everyone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryClientStore, Messenger } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { NatsBus } from '../src/bus/nats.js';
import { eventually, startServer, type Harness } from './helpers/harness.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { NATS_URL } from '@ghostproof/testkit';

/** How long each step may take on a loaded 2-core machine. */
const STEP_MS = 20_000;

describe('members on two nodes committing at once', () => {
  let db: TestDatabase;
  let keyDir: string;
  let buses: NatsBus[];
  let nodes: Harness[];
  const people: Messenger[] = [];

  before(async () => {
    db = await createTestDatabase();
    keyDir = mkdtempSync(join(tmpdir(), 'ghostproof-kt-keys-'));
    const subjectPrefix = `ghostproof-test-${randomBytes(6).toString('hex')}`;
    buses = [
      await NatsBus.connect({ servers: NATS_URL, subjectPrefix }),
      await NatsBus.connect({ servers: NATS_URL, subjectPrefix }),
    ];
    const kt = { keyFile: join(keyDir, 'kt-keys.json'), epochIntervalMs: 100 };
    nodes = [];
    for (const bus of buses) nodes.push(await startServer({ store: db.url, bus, kt }));
  });

  after(async () => {
    for (const m of people) await m.close();
    for (const node of nodes) await node.stop();
    for (const bus of buses) await bus.close();
    await db.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  /** Commits the nodes refused as stale-epoch, from their metrics. */
  async function staleEpochs(): Promise<number> {
    let total = 0;
    for (const node of nodes) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      const match = /^ghostproof_errors_total\{code="stale-epoch"\} (\d+)$/m.exec(text);
      total += Number(match?.[1] ?? 0);
    }
    return total;
  }

  async function person(node: Harness, name: string): Promise<Messenger> {
    const m = await Messenger.register(
      { serverUrl: node.url, store: new MemoryClientStore(), createSocket: nodeWebSocket },
      `${name}${randomBytes(3).toString('hex')}`,
    );
    people.push(m);
    await m.connect();
    return m;
  }

  it('takes one commit per epoch; the others retry; everyone ends in one epoch and hears the next message', async () => {
    const [nodeA, nodeB] = nodes as [Harness, Harness];
    const alice = await person(nodeA, 'alice');
    const bob = await person(nodeB, 'bob');
    const carol = await person(nodeB, 'carol');
    const id = await alice.createGroup('two nodes', [bob.username, carol.username]);
    for (const m of [bob, carol]) {
      await eventually(
        'the invitation',
        async () => (await m.listConversations()).some((c) => c.id === id),
        STEP_MS,
      );
      await m.accept(id);
    }
    // The group's epoch as each member's MLS state has it.
    const epochOf = async (m: Messenger) =>
      (await (m as unknown as { mls(id: string): Promise<{ epoch: bigint }> }).mls(id)).epoch;
    const start = await epochOf(alice);
    // All three commit at once, alice through node A, bob and carol through node B.
    const refusedBefore = await staleEpochs();
    await Promise.all([alice.selfUpdate(id), bob.selfUpdate(id), carol.selfUpdate(id)]);
    // They raced: the nodes refused at least one of the three first tries.
    assert.ok((await staleEpochs()) > refusedBefore, 'no commit was refused as stale-epoch');
    // Everyone applies everyone's commits: three epochs past the one the group started in.
    const codes = await eventually(
      'one epoch for all',
      async () => {
        const all = await Promise.all([alice, bob, carol].map((m) => m.groupCode(id)));
        return all.every((code) => code === all[0]) ? all : undefined;
      },
      STEP_MS,
    );
    assert.equal(new Set(codes).size, 1);
    // Each of the three commits was applied by everyone (the losers retried, none gave up).
    await eventually(
      'three epochs on',
      async () => {
        const epochs = await Promise.all([alice, bob, carol].map(epochOf));
        return epochs.every((e) => e === start + 3n);
      },
      STEP_MS,
    );
    await bob.sendText(id, 'after the race');
    for (const m of [alice, carol]) {
      await eventually(
        'the message',
        async () => (await m.messages(id)).some((x) => x.text === 'after the race'),
        STEP_MS,
      );
    }
  });
});
