// Disappearing messages hold for everyone: the timer is in the group's MLS context (a member
// added later reads it from its Welcome) and in every message, and each client deletes
// expired messages from its store on its own timer, not only when something lists them.
// The joiner keeps its profile in SQLite on disk, and the test reads the database and its
// WAL directly. The negative control runs the same story on clients that keep the timer in
// their own view only (as before), and the joiner keeps the message.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Messenger,
  type MessengerOptions,
  type StoredMessage,
  type UnsafeTestingDisabledDefences,
} from '@ghostproof/client';
import { SqliteClientStore } from '@ghostproof/client/node';
import { body } from '@ghostproof/protocol';
import {
  eventually,
  fastKeyTransparency,
  messengerOptions as options,
  registerPerson as person,
  startTestServer,
  type TestServer,
} from '@ghostproof/testkit';

/** Resolves with the next `expired` event; fails loudly after `ms`. */
function nextExpiry(messenger: Messenger, ms = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no expired messages were swept in time'));
    }, ms);
    const off = messenger.on('expired', ({ count }) => {
      clearTimeout(timer);
      off();
      resolve(count);
    });
  });
}

describe('disappearing messages hold for everyone, members added later included', () => {
  let server: TestServer;
  const open: Messenger[] = [];
  const dirs: string[] = [];

  before(async () => {
    server = await startTestServer({ kt: fastKeyTransparency });
  });

  after(async () => {
    for (const m of open) await m.close();
    await server.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** alice, bob and carol, carol with a SQLite profile on disk; every clock can be moved on. */
  async function cast(prefix: string, off: UnsafeTestingDisabledDefences = {}) {
    const offset = { ms: 0 };
    const extra: Partial<MessengerOptions> = {
      clock: () => Date.now() + offset.ms,
      expirySweepMs: 100,
      ...(Object.keys(off).length > 0 ? { unsafeTestingDisableDefences: off } : {}),
    };
    const alice = await person(server.url, `${prefix}-alice`, extra);
    const bob = await person(server.url, `${prefix}-bob`, extra);
    const dir = mkdtempSync(join(tmpdir(), 'ghostproof-joiner-'));
    dirs.push(dir);
    const store = SqliteClientStore.open(dir);
    const carol = await Messenger.register(options(server.url, store, extra), `${prefix}-carol`);
    await carol.connect();
    open.push(alice, bob, carol);
    const files = () => ['client.db', 'client.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f));
    /** Whether the database or its WAL holds this message's record (under its keyed-hash name). */
    const onDisk = (id: string, messageId: string) => {
      const hashed = (store as unknown as { hashed: (k: string, n: string) => string }).hashed(
        'message',
        `${id}/${messageId}`,
      );
      return files().some((f) => readFileSync(f).includes(Buffer.from(hashed)));
    };
    return { alice, bob, carol, store, offset, onDisk, dir, extra };
  }

  /** alice sets a 60 s timer in a group with bob, then adds carol; alice and bob each send. */
  async function story(people: Awaited<ReturnType<typeof cast>>) {
    const { alice, bob, carol } = people;
    const id = await alice.createGroup('timed', [bob.username]);
    await eventually(async () => (await bob.conversationInfo(id).catch(() => undefined)) ?? undefined);
    await bob.accept(id);
    await alice.setDisappearing(id, 60);
    await eventually(async () => (await bob.conversationInfo(id)).disappearingSeconds === 60);
    await alice.addMembers(id, [carol.username]);
    const joined = await eventually(
      async () => (await carol.conversationInfo(id).catch(() => undefined)) ?? undefined,
    );
    await carol.accept(id);
    await alice.sendText(id, 'from alice, for a minute');
    await bob.sendText(id, 'from bob, for a minute');
    const received = await eventually(async () => {
      const messages = await people.store.listMessages(id);
      return messages.length === 2 ? messages : undefined;
    });
    return { id, joined, received };
  }

  it('a member added after the timer was set deletes on time: the rows leave its SQLite database and WAL, and the API', async () => {
    const people = await cast('timer');
    const { carol, offset, onDisk } = people;
    const { id, joined, received } = await story(people);
    // The joiner had the timer from its Welcome, before any message.
    assert.equal(joined.disappearingSeconds, 60);
    assert.equal((await carol.settings(id)).disappearingSeconds, 60);
    for (const message of received) {
      assert.ok(message.expiresAt > 0 && message.expiresAt <= Date.now() + 60_000, 'kept for at most 60 s');
      assert.ok(onDisk(id, message.id), 'the record is in the files before its timer (positive control)');
    }
    const swept = nextExpiry(carol);
    offset.ms += 61_000;
    // The sweep runs on its own timer: nothing lists messages meanwhile.
    assert.ok((await swept) >= 2);
    for (const message of received) assert.ok(!onDisk(id, message.id), 'gone from the database and its WAL');
    assert.deepEqual(await people.store.listMessages(id), []);
    assert.deepEqual(await carol.messages(id), []);
  });

  it('a client that was closed when the time came deletes at open, before anything lists messages', async () => {
    const people = await cast('reopen');
    const { alice, carol, offset, onDisk } = people;
    const id = await alice.createGroup('timed', [carol.username]);
    await eventually(async () => (await carol.conversationInfo(id).catch(() => undefined)) ?? undefined);
    await carol.accept(id);
    await alice.setDisappearing(id, 60);
    await alice.sendText(id, 'while you were away');
    const message = await eventually(async () =>
      (await people.store.listMessages(id)).find((m: StoredMessage) => m.text === 'while you were away'),
    );
    await carol.close();
    await people.store.close();
    offset.ms += 61_000;
    assert.ok(onDisk(id, message.id), 'still on disk while the app is closed');
    const reopened = await Messenger.open(
      options(server.url, SqliteClientStore.open(people.dir), people.extra),
    );
    open.push(reopened);
    assert.ok(!onDisk(id, message.id), 'deleted as the app opened');
  });

  it('a message is kept no longer than its own timer, when that is stricter than the group’s', async () => {
    const people = await cast('strict');
    const { alice, carol, offset } = people;
    const id = await alice.createGroup('untimed', [carol.username]);
    await eventually(async () => (await carol.conversationInfo(id).catch(() => undefined)) ?? undefined);
    await carol.accept(id);
    assert.equal((await carol.settings(id)).disappearingSeconds, 0);
    await alice.send(id, body.text('brief'), { expiresInSeconds: 5 });
    const message = await eventually(async () =>
      (await people.store.listMessages(id)).find((m: StoredMessage) => m.text === 'brief'),
    );
    assert.ok(message.expiresAt > 0 && message.expiresAt <= Date.now() + 5_000);
    const swept = nextExpiry(carol);
    offset.ms += 6_000;
    await swept;
    assert.deepEqual(await people.store.listMessages(id), []);
  });

  it('negative control: with the timer only in each client’s own view (as before), the joiner still holds the message after 61 s', async () => {
    const people = await cast('old', { sharedDisappearingTimer: true });
    const { bob, carol, offset, onDisk } = people;
    const { id, joined, received } = await story(people);
    assert.equal(joined.disappearingSeconds, 0, 'the joiner never saw the timer message');
    for (const message of received) assert.equal(message.expiresAt, 0);
    // bob, who was there when the timer was set, deletes alice's message on time ...
    const bobSwept = nextExpiry(bob);
    offset.ms += 61_000;
    await bobSwept;
    // ... while carol's sweep, run after the same 61 s, finds nothing to delete.
    assert.equal(await carol.sweepExpired(), 0);
    for (const message of received) assert.ok(onDisk(id, message.id), 'still in the joiner’s database');
    assert.deepEqual((await carol.messages(id)).map((m) => m.text).sort(), [
      'from alice, for a minute',
      'from bob, for a minute',
    ]);
  });
});
