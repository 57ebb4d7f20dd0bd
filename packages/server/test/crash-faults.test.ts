// kill -9 under load, with servers as `ghostproof serve` runs them in child processes and
// devices on the raw WebSocket protocol that behave as the client SDK does (resend with the
// same client id until accepted, acknowledge every delivery, show each message id once).
// What a user must see: every message the server answered "accepted" for reaches every other
// member of its group, with the body that was sent, and is shown once. What the server may
// do: deliver again what was not acknowledged (the device dedupes by id). What it must not:
// send an id twice on one connection, or deliver again what it confirmed as acknowledged.
// Loopback only; each test well under 90 s on two cores.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { WsClient } from './helpers/harness.js';
import { createTestDatabase } from './helpers/postgres.js';
import {
  auditDeliveries,
  LoadDevice,
  owedDeliveries,
  setUpGroups,
  until,
  type DeliveryAudit,
  type DeviceRecord,
} from './helpers/load-device.js';
import { freePort, killAll, spawnNats, spawnServer } from '@ghostproof/testkit/processes';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ghostproof-crash-'));
  dirs.push(dir);
  return dir;
}

after(async () => {
  await killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sum = (devices: readonly LoadDevice[], f: (d: LoadDevice) => number) =>
  devices.reduce((n, d) => n + f(d), 0);

/** Queues `total` messages over the devices. */
function load(devices: readonly LoadDevice[], total: number): void {
  devices.forEach((d, i) =>
    d.send(Math.floor(total / devices.length) + (i < total % devices.length ? 1 : 0)),
  );
}

/** Waits until every send is accepted, every owed delivery shown and every ack confirmed. */
async function settled(devices: readonly LoadDevice[], total: number, timeoutMs: number): Promise<boolean> {
  return until(
    () =>
      sum(devices, (d) => d.accepted.size) === total &&
      devices.every((d) => d.idle) &&
      sum(devices, (d) => d.shown) >= owedDeliveries(devices),
    timeoutMs,
    100,
  );
}

/** The assertions every run must pass, with the numbers in the message when one fails. */
function assertNothingLostNothingTwice(audit: DeliveryAudit, total: number, fanout: number): void {
  const numbers = JSON.stringify(audit);
  assert.equal(audit.accepted, total, `every send accepted in the end: ${numbers}`);
  assert.equal(audit.owed, total * fanout, numbers);
  assert.equal(audit.missing, 0, `no accepted message lost: ${numbers}`);
  assert.equal(audit.unexpected, 0, `nothing delivered that was not sent: ${numbers}`);
  assert.equal(audit.wrongContent, 0, `each body as sent: ${numbers}`);
  assert.equal(audit.twiceOnOneConnection, 0, `never twice on one connection: ${numbers}`);
  assert.equal(audit.redeliveredAfterAck, 0, `nothing acknowledged comes back: ${numbers}`);
  assert.equal(audit.shown, audit.owed, `each message shown exactly once: ${numbers}`);
  assert.equal(audit.frames, audit.shown + audit.shownTwiceWithoutDedupe, numbers);
}

/** A fresh connection per device gets nothing: every acknowledged entry is gone for good. */
async function assertMailboxesEmpty(url: string, tokens: readonly Uint8Array[]): Promise<void> {
  const clients = await Promise.all(tokens.map((token) => WsClient.connect(url, token)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(
    clients.map((c) => c.deliveries.length),
    tokens.map(() => 0),
    'no mailbox holds anything once all was acknowledged',
  );
  await Promise.all(clients.map((c) => c.close()));
}

function report(t: TestContext, name: string, audit: DeliveryAudit, extra: Record<string, unknown>): void {
  t.diagnostic(`${name}: ${JSON.stringify({ ...extra, ...audit })}`);
}

describe('kill -9 under load', () => {
  it('the audit catches a lost message, one sent twice on a connection, and one redelivered after its ack', () => {
    // Negative control for the assertions below: they must fail on a run that went wrong.
    const group = 'aa';
    const alice: DeviceRecord = {
      name: 'alice',
      groups: [group],
      accepted: new Map([
        ['c1', { messageId: 'm1', group }],
        ['c2', { messageId: 'm2', group }],
        ['c3', { messageId: 'm3', group }],
      ]),
      received: [],
      ackConfirmed: new Map(),
    };
    const honest: DeviceRecord = {
      name: 'bob',
      groups: [group],
      accepted: new Map(),
      received: [
        { id: 'm1', connection: 1, marker: 'c1' },
        { id: 'm2', connection: 1, marker: 'c2' },
        { id: 'm2', connection: 2, marker: 'c2' }, // its ack was never confirmed: may come again
        { id: 'm3', connection: 2, marker: 'c3' },
      ],
      ackConfirmed: new Map([
        ['m1', 1],
        ['m3', 2],
      ]),
    };
    const clean = auditDeliveries([alice, honest]);
    assert.deepEqual(
      [clean.missing, clean.twiceOnOneConnection, clean.redeliveredAfterAck, clean.redelivered, clean.shown],
      [0, 0, 0, 1, 3],
    );
    const lost = auditDeliveries([alice, { ...honest, received: honest.received.slice(0, 3) }]);
    assert.equal(lost.missing, 1);
    assert.throws(() => assertNothingLostNothingTwice(lost, 3, 1), /no accepted message lost/);
    const twice = auditDeliveries([
      alice,
      { ...honest, received: [...honest.received, { id: 'm3', connection: 2, marker: 'c3' }] },
    ]);
    assert.equal(twice.twiceOnOneConnection, 1);
    assert.throws(() => assertNothingLostNothingTwice(twice, 3, 1), /never twice on one connection/);
    const afterAck = auditDeliveries([
      alice,
      { ...honest, received: [...honest.received, { id: 'm1', connection: 3, marker: 'c1' }] },
    ]);
    assert.equal(afterAck.redeliveredAfterAck, 1);
    assert.throws(() => assertNothingLostNothingTwice(afterAck, 3, 1), /nothing acknowledged comes back/);
    const tampered = auditDeliveries([
      alice,
      { ...honest, received: honest.received.map((r) => (r.id === 'm3' ? { ...r, marker: 'c1' } : r)) },
    ]);
    assert.throws(() => assertNothingLostNothingTwice(tampered, 3, 1), /each body as sent/);
  });

  it('one node on SQLite: 20,000 messages, kill -9 mid-load, restart on the same data; nothing accepted lost, each shown once', async (t) => {
    const TOTAL = 20_000;
    const port = await freePort();
    const dataDir = tempDir();
    const started = performance.now();
    let server = await spawnServer(port, dataDir);
    // Three groups of three: every message is owed to two devices.
    const { tokens, groupsOf } = await setUpGroups(server.url, 9, [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    const devices = tokens.map((token, i) => new LoadDevice(`d${i}`, token, [server.url], groupsOf[i]!));
    try {
      for (const d of devices) d.start();
      assert.ok(await until(() => devices.every((d) => d.connections === 1), 10_000), 'all connected');
      const loadStarted = performance.now();
      load(devices, TOTAL);
      assert.ok(
        await until(() => sum(devices, (d) => d.accepted.size) >= TOTAL * 0.4, 60_000),
        'load under way',
      );
      await server.kill();
      const acceptedAtKill = sum(devices, (d) => d.accepted.size);
      const shownAtKill = sum(devices, (d) => d.shown);
      const killedAt = performance.now();
      server = await spawnServer(port, dataDir);
      const restartMs = performance.now() - killedAt;
      const done = await settled(devices, TOTAL, 60_000);
      const audit = auditDeliveries(devices);
      report(t, 'sqlite', audit, {
        acceptedAtKill,
        shownAtKill,
        duplicateAnswers: sum(devices, (d) => d.duplicateAnswers),
        restartMs: Math.round(restartMs),
        loadSeconds: Math.round((performance.now() - loadStarted) / 100) / 10,
        totalSeconds: Math.round((performance.now() - started) / 100) / 10,
      });
      assert.deepEqual(
        devices.flatMap((d) => d.failures),
        [],
      );
      assertNothingLostNothingTwice(audit, TOTAL, 2);
      assert.ok(done, 'every acknowledgement confirmed');
      assert.ok(acceptedAtKill < TOTAL, 'killed mid-load');
      assert.ok(
        devices.every((d) => d.connections >= 2),
        'every device reconnected to the restarted server',
      );
      // The kill caught deliveries not yet acknowledged: without its dedupe by id, a client
      // would have shown these twice.
      assert.ok(audit.shownTwiceWithoutDedupe > 0, 'the server redelivered what was unacknowledged');
      await Promise.all(devices.map((d) => d.stop()));
      await assertMailboxesEmpty(server.url, tokens);
    } finally {
      await Promise.all(devices.map((d) => d.stop()));
      await server.kill();
    }
  });

  it('two nodes on PostgreSQL and NATS: kill -9 one mid-load, its devices move to the other; nothing accepted lost, each shown once', async (t) => {
    const TOTAL = 20_000;
    const db = await createTestDatabase();
    const natsPort = await freePort();
    await spawnNats(natsPort);
    const shared = tempDir();
    const args = [
      '--store',
      db.url,
      '--bus',
      `nats://127.0.0.1:${natsPort}`,
      '--kt-keys',
      join(shared, 'kt-keys.json'),
      '--kt-origin',
      'crash-test/ghostproof-kt',
    ];
    const started = performance.now();
    const x = await spawnServer(await freePort(), tempDir(), args);
    const y = await spawnServer(await freePort(), tempDir(), args);
    const { tokens, groupsOf } = await setUpGroups(x.url, 9, [
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    // Even devices on x (falling back to y), odd ones on y: every group spans both nodes.
    const devices = tokens.map(
      (token, i) =>
        new LoadDevice(`d${i}`, token, i % 2 === 0 ? [x.url, y.url] : [y.url, x.url], groupsOf[i]!),
    );
    const onX = devices.filter((_, i) => i % 2 === 0);
    const onY = devices.filter((_, i) => i % 2 === 1);
    try {
      for (const d of devices) d.start();
      assert.ok(await until(() => devices.every((d) => d.connections === 1), 10_000), 'all connected');
      const loadStarted = performance.now();
      load(devices, TOTAL);
      assert.ok(
        await until(() => sum(devices, (d) => d.accepted.size) >= TOTAL * 0.4, 60_000),
        'load under way',
      );
      await x.kill();
      const acceptedAtKill = sum(devices, (d) => d.accepted.size);
      const done = await settled(devices, TOTAL, 60_000);
      const audit = auditDeliveries(devices);
      report(t, 'postgres+nats', audit, {
        acceptedAtKill,
        duplicateAnswers: sum(devices, (d) => d.duplicateAnswers),
        loadSeconds: Math.round((performance.now() - loadStarted) / 100) / 10,
        totalSeconds: Math.round((performance.now() - started) / 100) / 10,
      });
      assert.deepEqual(
        devices.flatMap((d) => d.failures),
        [],
      );
      assertNothingLostNothingTwice(audit, TOTAL, 2);
      assert.ok(done, 'every acknowledgement confirmed');
      assert.ok(acceptedAtKill < TOTAL, 'killed mid-load');
      assert.ok(
        onX.every((d) => d.connections === 2 && d.url === y.url),
        "x's devices moved to y",
      );
      // Devices on y got everything on the connection they had all along: what x stored
      // just before it died reached them without a reconnect.
      assert.ok(
        onY.every((d) => d.connections === 1),
        'devices on y never reconnected',
      );
      assert.ok(audit.shownTwiceWithoutDedupe > 0, 'the server redelivered what was unacknowledged');
      await Promise.all(devices.map((d) => d.stop()));
      await assertMailboxesEmpty(y.url, tokens);
    } finally {
      await Promise.all(devices.map((d) => d.stop()));
      await x.kill();
      await y.kill();
      await db.drop();
    }
  });
});
