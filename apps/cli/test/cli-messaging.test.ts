// People using the `ghostproof` command against a real server: 1:1 both ways, message
// requests (accepted, blocked), offline delivery, a group of three with add and remove, and
// a send killed with SIGKILL halfway. Every command is a real child process.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SqliteClientStore } from '@ghostproof/client/node';
import {
  filesContaining,
  filesUnder,
  ghostproof,
  json,
  ok,
  receive,
  startWorld,
  type ReceivedMessage,
  type World,
} from './helpers/cli.js';

const tag = Math.random().toString(36).slice(2, 8);
/** Each plaintext carries a marker, so the server's files can be searched for it afterwards. */
const plaintexts: string[] = [];
function text(words: string): string {
  const marked = `${words} ${tag}-${plaintexts.length}`;
  plaintexts.push(marked);
  return marked;
}

const texts = (messages: readonly ReceivedMessage[]) => messages.map((m) => m.text);

async function outboxSize(world: World, person: string): Promise<number> {
  const store = SqliteClientStore.open(world.profile(person));
  try {
    return (await store.listOutbox()).length;
  } finally {
    await store.close();
  }
}

describe('ghostproof CLI: messaging between people', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
    await Promise.all(['alice', 'bob', 'carol', 'mallory'].map((p) => ok(world, p, ['register', p])));
  });
  after(async () => {
    await world.close();
  });

  it('1:1 both ways: a first message is a request until accepted; offline messages arrive once', async () => {
    const [first, second] = [text('hello bob'), text('are you there?')];
    const sent = await json(world, 'alice', ['send', 'bob', first]);
    assert.equal(sent[0]!.state, 'sent');
    // Bob is offline (no process runs for him) while the second one is sent.
    await ok(world, 'alice', ['send', 'bob', second]);
    const atBob = await receive(world, 'bob');
    assert.deepEqual(texts(atBob), [first, second]);
    assert.ok(atBob.every((m) => m.sender === 'alice' && m.type === 'text' && m.request === true));
    assert.ok(!Number.isNaN(Date.parse(atBob[0]!.sent_at)));

    const requests = await json(world, 'bob', ['requests']);
    assert.deepEqual(
      requests.map((r) => r.from),
      ['alice'],
    );
    const replyRefused = await ghostproof(world, 'bob', ['send', 'alice', 'too early']);
    assert.equal(replyRefused.code, 1);
    assert.match(replyRefused.stderr, /message request: accept it first/);
    assert.equal(replyRefused.stderr.trim().split('\n').length, 1, 'one line, no stack trace');

    await ok(world, 'bob', ['requests', 'accept', 'alice']);
    const reply = text('hi alice');
    await ok(world, 'bob', ['send', 'alice', reply]);
    const atAlice = await receive(world, 'alice');
    assert.deepEqual(texts(atAlice), [reply]);
    assert.equal(atAlice[0]!.sender, 'bob');
    assert.equal(atAlice[0]!.conversation, atBob[0]!.conversation, 'one conversation, both ways');
    // Printed once: a second receive shows nothing old.
    assert.deepEqual(await receive(world, 'bob'), []);
  });

  it('a request can be blocked: the sender’s later messages never arrive', async () => {
    await ok(world, 'mallory', ['send', 'carol', text('buy now')]);
    const blocked = await json(world, 'carol', ['requests', 'block', 'mallory']);
    assert.deepEqual(blocked[0]!.blocked, ['mallory']);
    await ok(world, 'mallory', ['send', 'carol', text('buy now, really')]);
    assert.deepEqual(await receive(world, 'carol'), []);
    const conversations = await json(world, 'carol', ['conversations']);
    assert.deepEqual(
      conversations.map((c) => [c.peer, c.status]),
      [['mallory', 'declined']],
    );
  });

  it('a group of three with add and remove: the removed member receives nothing sent after', async () => {
    const [created] = await json(world, 'alice', ['group', 'create', 'Reporters', 'bob']);
    const id = created!.conversation as string;
    const short = created!.short as string;
    assert.match(id, /^[0-9a-f]{16,}$/);
    await ok(world, 'alice', ['group', 'add', short, 'carol']);
    // Carol has never talked with alice: the group is a request for her.
    await ok(world, 'carol', ['requests', 'accept', short]);
    const toAll = text('to all three');
    await ok(world, 'alice', ['send', short, toAll]);
    assert.deepEqual(texts(await receive(world, 'bob')), [toAll]);
    const atCarol = await receive(world, 'carol');
    assert.deepEqual(texts(atCarol), [toAll]);
    assert.equal(atCarol[0]!.conversation, id);
    const members = await json(world, 'carol', ['group', 'members', short]);
    assert.deepEqual(members.map((m) => m.username).sort(), ['alice', 'bob', 'carol']);
    // Admins are part of the group's signed state: carol, added later, has them without a message.
    assert.deepEqual(
      members.filter((m) => m.admin).map((m) => m.username),
      ['alice'],
    );
    const notAdmin = await ghostproof(world, 'carol', ['group', 'admins', short, 'carol']);
    assert.equal(notAdmin.code, 1);
    assert.match(notAdmin.stderr, /only an admin/, notAdmin.stderr);
    await ok(world, 'alice', ['group', 'admins', short, 'alice', 'bob']);
    const admins = await json(world, 'carol', ['group', 'members', short]);
    assert.deepEqual(
      admins
        .filter((m) => m.admin)
        .map((m) => m.username)
        .sort(),
      ['alice', 'bob'],
    );

    await ok(world, 'alice', ['group', 'remove', short, 'carol']);
    const afterRemoval = text('carol is gone');
    await ok(world, 'alice', ['send', short, afterRemoval]);
    assert.deepEqual(texts(await receive(world, 'bob')), [afterRemoval]);
    assert.deepEqual(await receive(world, 'carol'), [], 'nothing after the removal');
    const refused = await ghostproof(world, 'carol', ['send', short, 'still here?']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /no longer a member/, refused.stderr);

    // Leaving is a proposal; alice's next command commits it, and bob gets nothing after.
    await ok(world, 'bob', ['group', 'leave', short]);
    const afterLeaving = text('bob left as well');
    await ok(world, 'alice', ['send', short, afterLeaving]);
    const remaining = await json(world, 'alice', ['group', 'members', short]);
    assert.deepEqual(
      remaining.map((m) => m.username),
      ['alice'],
    );
    assert.deepEqual(await receive(world, 'bob'), []);
  });

  it('a send killed with SIGKILL loses nothing and duplicates nothing', async () => {
    // Killed after the message is in the outbox, before it reaches the server.
    const early = text('survives a kill before sending');
    const killedEarly = await ghostproof(world, 'alice', ['send', 'bob', early], {
      GHOSTPROOF_UNSAFE_TEST_KILL_AT: 'before-send',
    });
    assert.equal(killedEarly.signal, 'SIGKILL');
    assert.equal(await outboxSize(world, 'alice'), 1, 'the message waits in the outbox');
    assert.deepEqual(await receive(world, 'bob'), [], 'the server never got it');
    // Any next command sends what the outbox holds.
    await ok(world, 'alice', ['receive']);
    assert.equal(await outboxSize(world, 'alice'), 0);
    assert.deepEqual(texts(await receive(world, 'bob')), [early]);

    // Killed after the server accepted it, before the outbox entry was removed.
    const late = text('survives a kill after sending');
    const killedLate = await ghostproof(world, 'alice', ['send', 'bob', late], {
      GHOSTPROOF_UNSAFE_TEST_KILL_AT: 'after-accepted',
    });
    assert.equal(killedLate.signal, 'SIGKILL');
    assert.equal(await outboxSize(world, 'alice'), 1, 'the outbox still holds the accepted message');
    assert.deepEqual(texts(await receive(world, 'bob')), [late]);
    // The next command sends it again under the same id; the server keeps one copy.
    await ok(world, 'alice', ['receive']);
    assert.equal(await outboxSize(world, 'alice'), 0);
    assert.deepEqual(await receive(world, 'bob'), [], 'no duplicate');
  });

  it('leaves no plaintext in the server’s data directory', () => {
    assert.ok(plaintexts.length >= 10, 'every test above sent marked plaintexts');
    for (const plaintext of plaintexts) {
      assert.deepEqual(filesContaining(world.dataDir, plaintext), [], plaintext);
    }
    // Positive control: the search does find what is there (usernames are the directory).
    assert.ok(
      filesContaining(world.dataDir, 'mallory').length > 0,
      filesUnder(world.dataDir)
        .map((f) => `${f} ${statSync(f).size}`)
        .join('\n'),
    );
  });
});
