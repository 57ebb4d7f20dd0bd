// The SDK against a real server on a random port: what people see.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryClientStore, Messenger, type Alarm, type ClientStore } from '@ghostproof/client';
import { SqliteClientStore } from '@ghostproof/client/node';
import {
  eventually,
  fastKeyTransparency,
  messengerOptions as options,
  registerPerson as person,
  startTestServer,
  type TestServer,
} from '@ghostproof/testkit';

async function textsOf(m: Messenger, id: string): Promise<string[]> {
  return (await m.messages(id).catch(() => [])).map((x) => x.text);
}

describe('messenger against a real server', () => {
  let server: TestServer;
  const open: Messenger[] = [];
  const make = async (name: string, extra = {}) => {
    const m = await person(server.url, name, extra);
    open.push(m);
    return m;
  };
  before(async () => {
    server = await startTestServer({ kt: fastKeyTransparency });
  });
  after(async () => {
    for (const m of open) await m.close();
    await server.stop();
  });

  it('1:1 both ways, with delivery and read receipts', async () => {
    const [alice, bob] = [await make('alice'), await make('bob')];
    const id = await alice.direct('bob');
    const sent = await alice.sendText(id, 'hello bob');
    const atBob = await eventually(async () => (await bob.messages(id).catch(() => []))[0]);
    assert.equal(atBob.text, 'hello bob');
    assert.equal(atBob.sender.username, 'alice');
    assert.equal(
      (await bob.conversationInfo(id)).status,
      'request',
      'a first message from a stranger is a request',
    );
    await bob.accept(id);
    await bob.markRead(id);
    const read = await eventually(async () => {
      const m = await alice.messages(id).then((all) => all.find((x) => x.id === sent));
      return m?.state === 'read' ? m : undefined;
    });
    assert.deepEqual(read.readTo, ['bob']);
    await bob.sendText(id, 'hello alice', sent);
    const reply = await eventually(async () =>
      (await alice.messages(id)).find((m) => m.text === 'hello alice'),
    );
    assert.equal(reply.replyTo, sent);
  });

  it('reactions, edits and deletes reach the other side; only the author may edit', async () => {
    const [carol, dave] = [await make('carol'), await make('dave')];
    const id = await carol.direct('dave');
    const first = await carol.sendText(id, 'tpyo');
    await eventually(async () => (await dave.messages(id).catch(() => [])).length === 1 || undefined);
    await dave.accept(id);
    await dave.react(id, first, '👍');
    await eventually(async () => (await carol.messages(id)).find((m) => m.reactions.dave?.includes('👍')));
    await carol.edit(id, first, 'typo');
    await eventually(async () => (await dave.messages(id)).find((m) => m.text === 'typo' && m.edited));
    await assert.rejects(dave.edit(id, first, 'hijacked'));
    await carol.deleteForEveryone(id, first);
    await eventually(async () => ((await dave.messages(id)).length === 0 ? true : undefined));
  });

  it('a group of three with add and remove: the removed member receives nothing sent after', async () => {
    const [erin, frank, grace] = [await make('erin'), await make('frank'), await make('grace')];
    const roster: string[][] = [];
    frank.on('roster', (e) => roster.push(e.events.map((x) => x.kind)));
    const id = await erin.createGroup('Reporters', ['frank']);
    await eventually(
      async () =>
        (await frank.conversationInfo(id).catch(() => undefined))?.name === 'Reporters' || undefined,
    );
    await frank.accept(id);
    await erin.addMembers(id, ['grace']);
    await eventually(() => roster.some((r) => r.includes('member-added')) || undefined);
    await eventually(async () => (await grace.conversationInfo(id).catch(() => undefined)) ?? undefined);
    await grace.accept(id);
    await erin.sendText(id, 'all three');
    await eventually(async () => ((await textsOf(grace, id)).includes('all three') ? true : undefined));
    await eventually(async () => ((await textsOf(frank, id)).includes('all three') ? true : undefined));
    await erin.removeMember(id, 'grace');
    await eventually(async () => ((await grace.conversationInfo(id)).status === 'left' ? true : undefined));
    await erin.sendText(id, 'after grace left');
    await eventually(async () =>
      (await textsOf(frank, id)).includes('after grace left') ? true : undefined,
    );
    await grace.idle();
    assert.ok(!(await textsOf(grace, id)).includes('after grace left'));
    assert.deepEqual((await frank.members(id)).map((m) => m.username).sort(), ['erin', 'frank']);
  });

  it(
    'a member leaving: the members who both commit the leave carry on, neither hangs',
    { timeout: 60_000 },
    async () => {
      const [wendy, xavier, yara] = [await make('wendy'), await make('xavier'), await make('yara')];
      const id = await wendy.createGroup('leavers', ['xavier', 'yara']);
      for (const m of [xavier, yara]) {
        await eventually(async () => (await m.conversationInfo(id).catch(() => undefined)) ?? undefined);
        await m.accept(id);
      }
      await yara.leave(id);
      // Wendy and Xavier both commit the proposal; the loser gets stale-epoch and must wait for
      // the winner's commit, which arrives through the same delivery queue it is handled in.
      for (const m of [wendy, xavier]) {
        await eventually(async () => ((await m.members(id)).length === 2 ? true : undefined), 15_000);
      }
      await wendy.sendText(id, 'after yara left');
      await eventually(async () =>
        (await textsOf(xavier, id)).includes('after yara left') ? true : undefined,
      );
      await eventually(() =>
        Promise.race([
          Promise.all([wendy.idle(), xavier.idle()]).then(() => true),
          new Promise<undefined>((resolve) => setTimeout(resolve, 2000)),
        ]),
      );
    },
  );

  it('a blocked account’s request is declined and its messages dropped', async () => {
    const [heidi, mallory] = [await make('heidi'), await make('mallory')];
    await heidi.block('mallory');
    const id = await mallory.direct('heidi');
    await mallory.sendText(id, 'let me in');
    await eventually(
      async () =>
        (await heidi.conversationInfo(id).catch(() => undefined))?.status === 'declined' || undefined,
    );
    await heidi.idle();
    assert.deepEqual(await textsOf(heidi, id), []);
  });

  it('messages sent to an offline device arrive when it connects, exactly once', async () => {
    const ivan = await make('ivan');
    const judyStore = new MemoryClientStore();
    const judy = await Messenger.register(options(server.url, judyStore), 'judy');
    await judy.connect();
    const id = await ivan.direct('judy');
    await ivan.sendText(id, 'm0');
    await eventually(async () => ((await textsOf(judy, id)).length === 1 ? true : undefined));
    await judy.close();
    for (let i = 1; i <= 5; i++) await ivan.sendText(id, `m${i}`);
    const again = await Messenger.open(options(server.url, judyStore));
    open.push(again);
    await again.connect();
    await eventually(async () => ((await textsOf(again, id)).length === 6 ? true : undefined));
    await again.idle();
    assert.deepEqual((await textsOf(again, id)).sort(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('messages typed offline wait in the outbox and are each sent once on reconnect', async () => {
    const [kim, leo] = [await make('kim'), await make('leo')];
    const id = await kim.direct('leo');
    await kim.sendText(id, 'online');
    await eventually(async () => ((await textsOf(leo, id)).length === 1 ? true : undefined));
    const kimStore = (kim as unknown as { options: { store: ClientStore } }).options.store;
    await kim.close();
    const offline = await Messenger.open(options(server.url, kimStore));
    open.push(offline);
    for (const t of ['typed offline 1', 'typed offline 2']) await offline.sendText(id, t);
    assert.equal(await offline.pendingOutbox(), 2);
    await offline.connect();
    await eventually(async () => ((await offline.pendingOutbox()) === 0 ? true : undefined));
    await eventually(async () => ((await textsOf(leo, id)).length === 3 ? true : undefined));
    await leo.idle();
    assert.deepEqual((await textsOf(leo, id)).sort(), ['online', 'typed offline 1', 'typed offline 2']);
  });

  it('a reply sent while the delivery receipt is still being flushed is sent too, not left for the next send', async () => {
    const [wes, xia] = [await make('wes'), await make('xia')];
    const id = await wes.direct('xia');
    await wes.sendText(id, 'first');
    await eventually(async () => ((await textsOf(xia, id)).length === 1 ? true : undefined));
    await xia.accept(id);
    await wes.sendText(id, 'are you there?');
    // Receiving it makes xia's app flush a delivery receipt; she answers at once.
    await eventually(async () => ((await textsOf(xia, id)).length === 2 ? true : undefined));
    await xia.sendText(id, 'yes');
    await eventually(async () => ((await textsOf(wes, id)).includes('yes') ? true : undefined));
    assert.equal(await xia.pendingOutbox(), 0);
  });

  it('a 10 MB attachment round-trips with its digest checked; a corrupted copy is refused', async () => {
    const [mia, ned] = [await make('mia'), await make('ned')];
    const id = await mia.direct('ned');
    const bytes = crypto.getRandomValues(new Uint8Array(65536));
    const file = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < file.length; i += bytes.length)
      file.set(bytes.subarray(0, Math.min(bytes.length, file.length - i)), i);
    let lastProgress = 0;
    await mia.sendAttachment(
      id,
      { bytes: file, contentType: 'application/octet-stream', fileName: 'big.bin' },
      (sent) => {
        lastProgress = sent;
      },
    );
    assert.ok(lastProgress >= file.length);
    const received = await eventually(async () =>
      (await ned.messages(id).catch(() => [])).find((m) => m.attachment),
    );
    const downloaded = await ned.downloadAttachment(received.attachment!);
    assert.equal(Buffer.compare(downloaded, file), 0);
    const wrongDigest = { ...received.attachment!, digest: new Uint8Array(32) };
    await assert.rejects(ned.downloadAttachment(wrongDigest), /digest/);
  });

  it('two members adding at once: the loser retries after the winner, and all agree', async () => {
    const [olga, pat] = [await make('olga'), await make('pat')];
    // Quinn and rose need accounts with key packages; they take no part otherwise.
    await make('quinn');
    await make('rose');
    const id = await olga.createGroup('race', ['pat']);
    await eventually(async () => (await pat.conversationInfo(id).catch(() => undefined)) ?? undefined);
    await pat.accept(id);
    await Promise.all([olga.addMembers(id, ['quinn']), pat.addMembers(id, ['rose'])]);
    const expected = ['olga', 'pat', 'quinn', 'rose'];
    for (const m of [olga, pat]) {
      await eventually(async () => ((await m.members(id)).length === 4 ? true : undefined));
      assert.deepEqual((await m.members(id)).map((x) => x.username).sort(), expected);
    }
  });

  it('a disappearing message is gone from the SQLite database and its WAL after its timer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ghostproof-profile-'));
    let now = Date.now();
    try {
      const sam = await make('sam');
      const store = SqliteClientStore.open(dir);
      const tess = await Messenger.register(options(server.url, store, { clock: () => now }), 'tess');
      open.push(tess);
      await tess.connect();
      const id = await sam.direct('tess');
      await sam.setDisappearing(id, 60);
      await sam.sendText(id, 'self-destructs');
      const message = await eventually(async () =>
        (await tess.messages(id).catch(() => [])).find((m) => m.text === 'self-destructs'),
      );
      assert.ok(message.expiresAt > 0);
      // The record's name in the files is a keyed hash; find it before expiry.
      const hashed = (store as unknown as { hashed: (k: string, n: string) => string }).hashed(
        'message',
        `${id}/${message.id}`,
      );
      const files = () =>
        ['client.db', 'client.db-wal'].map((f) => join(dir, f)).filter((f) => existsSync(f));
      const found = () => files().some((f) => readFileSync(f).includes(Buffer.from(hashed)));
      assert.ok(found(), 'the record is in the files before its timer');
      now += 61_000;
      assert.deepEqual(await tess.messages(id), []);
      assert.ok(!found(), 'the record is gone from database and WAL after its timer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an honest server raises no alarm through a whole conversation', async () => {
    const [uma, vic] = [await make('uma'), await make('vic')];
    const alarms: Alarm[] = [];
    for (const m of [uma, vic]) m.on('alarm', (a) => alarms.push(a));
    const id = await uma.createGroup('calm', ['vic']);
    await eventually(async () => (await vic.conversationInfo(id).catch(() => undefined)) ?? undefined);
    await vic.accept(id);
    await uma.sendText(id, 'hi');
    await vic.selfUpdate(id);
    await uma.sendText(id, 'still fine');
    await eventually(async () => ((await textsOf(vic, id)).includes('still fine') ? true : undefined));
    await uma.checkRoutingList(id);
    assert.deepEqual(alarms, []);
  });
});
