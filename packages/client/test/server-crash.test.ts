// The SDK across a kill -9 of its server: the server runs as `ghostproof serve` does, in a
// child process, is killed with SIGKILL while two people exchange messages, and is started
// again on the same data and port. The Messengers reconnect by themselves; what each person
// sees must hold every message exactly once: in the history, and as one 'message' event each
// (what an app shows as a new message), with no alarm (a message processed twice would raise
// a replay alarm). The server is expected to redeliver what was not acknowledged; the SDK
// dedupes by message id.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Alarm, Messenger } from '@ghostproof/client';
import { eventually, registerPerson as person } from '@ghostproof/testkit';
import { freePort, killProcess as kill, spawnServer } from '@ghostproof/testkit/processes';

const PER_PERSON = 150;

/** Message events and alarms as an app would get them. */
function watch(m: Messenger) {
  const shown: string[] = [];
  const alarms: Alarm[] = [];
  m.on('message', (e) => shown.push(e.message.id));
  m.on('alarm', (a) => alarms.push(a));
  return { shown, alarms };
}

describe('the SDK across a kill -9 of its server', () => {
  const children: ChildProcess[] = [];
  const messengers: Messenger[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-client-crash-'));
  after(async () => {
    for (const m of messengers) await m.close();
    for (const child of children) await kill(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`two people exchange ${2 * PER_PERSON} messages across kill -9 and restart; each sees every message once`, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    children.push((await spawnServer(port, dataDir)).child);
    const alice = await person(url, 'alice');
    const bob = await person(url, 'bob');
    messengers.push(alice, bob);
    const atAlice = watch(alice);
    const atBob = watch(bob);
    // A new account becomes visible to lookups at the next key transparency epoch.
    const id = await eventually(() => alice.direct('bob').catch(() => undefined), 15_000);
    await alice.sendText(id, 'hello');
    await eventually(async () => ((await bob.messages(id).catch(() => [])).length === 1 ? true : undefined));
    await bob.accept(id);

    const sendAll = async (m: Messenger, prefix: string) => {
      for (let i = 0; i < PER_PERSON; i++) {
        await m.sendText(id, `${prefix}${i}`);
        if (prefix === 'a' && i === PER_PERSON / 3) {
          // Mid-conversation, with messages and receipts in flight both ways.
          await kill(children.pop()!);
          children.push((await spawnServer(port, dataDir)).child);
        }
      }
    };
    await Promise.all([sendAll(alice, 'a'), sendAll(bob, 'b')]);

    const expected = [
      'hello',
      ...Array.from({ length: PER_PERSON }, (_, i) => `a${i}`),
      ...Array.from({ length: PER_PERSON }, (_, i) => `b${i}`),
    ].sort();
    for (const [name, m] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      await eventually(
        async () =>
          (await m.pendingOutbox()) === 0 && (await m.messages(id)).length >= expected.length
            ? true
            : undefined,
        60_000,
      );
      await m.idle();
      const history = await m.messages(id);
      assert.deepEqual(history.map((x) => x.text).sort(), expected, `${name}'s history: each message once`);
      assert.equal(new Set(history.map((x) => x.id)).size, history.length, `${name}: no id twice`);
    }
    // New-message events: one per message received, never one twice.
    assert.equal(atAlice.shown.length, PER_PERSON);
    assert.equal(new Set(atAlice.shown).size, PER_PERSON);
    assert.equal(atBob.shown.length, PER_PERSON + 1);
    assert.equal(new Set(atBob.shown).size, PER_PERSON + 1);
    assert.deepEqual([...atAlice.alarms, ...atBob.alarms], []);
  });
});
