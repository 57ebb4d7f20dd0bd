// The `ghostproof` CLI with what lives on disk: a 10 MB attachment round trip (digest
// checked), a disappearing message that leaves no trace in either profile's database or
// write-ahead log, the full-screen `chat` driven through tmux, and the server's data
// directory holding none of the plaintexts or file bytes afterwards.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqliteClientStore } from '@ghostproof/client/node';
import {
  bin,
  eventually,
  filesContaining,
  filesUnder,
  json,
  ok,
  receive,
  startGhostproof,
  startWorld,
  type ReceivedMessage,
  type World,
} from './helpers/cli.js';

const tag = randomBytes(4).toString('hex');
/** Every plaintext sent, to search the server's files for afterwards. */
const plaintexts: string[] = [];
const marked = (words: string) => {
  const text = `${words} ${tag}`;
  plaintexts.push(text);
  return text;
};

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The store's name for a message record: a keyed hash, found through the store as the SDK's own test does. */
async function recordName(profileDir: string, conversation: string, message: string): Promise<Buffer> {
  const store = SqliteClientStore.open(profileDir);
  try {
    const hashed = (store as unknown as { hashed: (kind: string, name: string) => string }).hashed(
      'message',
      `${conversation}/${message}`,
    );
    return Buffer.from(hashed);
  } finally {
    await store.close();
  }
}

/** The profile's database files as they are on disk right now (the WAL exists while a process has it open). */
function databaseFiles(profileDir: string): string[] {
  return ['client.db', 'client.db-wal'].map((f) => join(profileDir, f)).filter((f) => existsSync(f));
}

function filesHold(files: readonly string[], needle: Buffer): boolean {
  return files.some((f) => readFileSync(f).includes(needle));
}

describe('ghostproof CLI: files, disappearing messages, the chat screen', () => {
  let world: World;
  const file = randomBytes(10 * 1024 * 1024);
  before(async () => {
    world = await startWorld();
    await Promise.all(['dora', 'emil'].map((p) => ok(world, p, ['register', p])));
    // A 1:1 both have accepted, so that receipts flow.
    await ok(world, 'dora', ['send', 'emil', marked('hello')]);
    await ok(world, 'emil', ['requests', 'accept', 'dora']);
  });
  after(async () => {
    await world.close();
  });

  it('a 10 MB attachment round-trips with its digest checked', async () => {
    const path = join(world.root, 'report.bin');
    writeFileSync(path, file);
    const caption = marked('the report');
    const [sent] = await json(world, 'dora', ['attach', 'emil', path, '--caption', caption]);
    assert.equal(sent!.size, file.length);
    const out = join(world.root, 'received');
    const messages = await receive(world, 'emil', ['--out', out]);
    const attachment = messages.find((m) => m.type === 'attachment')!;
    assert.equal(attachment.text, caption);
    assert.equal(attachment.file, join(out, 'report.bin'));
    const expected = createHash('sha256').update(file).digest('hex');
    assert.equal(attachment.sha256, expected);
    assert.equal(createHash('sha256').update(readFileSync(attachment.file)).digest('hex'), expected);
  });

  it('a disappearing message is gone from both profiles’ database and WAL after its timer', async () => {
    const secret = marked('self-destructing');
    const plaintext = Buffer.from(secret);
    await ok(world, 'dora', ['disappear', 'emil', '6s']);
    // Emil listens while the timer runs out, so his WAL is on disk throughout.
    const listening = startGhostproof(world, 'emil', ['--json', 'receive', '--wait', '25']);
    try {
      const [sent] = await json(world, 'dora', ['send', 'emil', secret]);
      const conversation = sent!.conversation as string;
      const messageId = sent!.message as string;
      const line = await eventually(
        () =>
          listening
            .stdout()
            .split('\n')
            .find((l) => l.includes(messageId)),
        15_000,
        'emil prints the message',
      );
      assert.equal((JSON.parse(line) as ReceivedMessage).text, secret);
      const [atDora, atEmil] = [world.profile('dora'), world.profile('emil')];
      const [nameAtDora, nameAtEmil] = [
        await recordName(atDora, conversation, messageId),
        await recordName(atEmil, conversation, messageId),
      ];
      // Positive controls: the record is there (under its hashed name) before the timer.
      assert.ok(filesHold(databaseFiles(atDora), nameAtDora), 'at dora before the timer');
      assert.ok(filesHold(databaseFiles(atEmil), nameAtEmil), 'at emil before the timer');
      assert.ok(existsSync(join(atEmil, 'client.db-wal')), 'emil’s WAL is on disk while he listens');
      // The plaintext is never in the files: records are encrypted.
      assert.ok(!filesHold(databaseFiles(atDora), plaintext));
      assert.ok(!filesHold(databaseFiles(atEmil), plaintext));

      // Emil's running process deletes it when its time comes (database and WAL).
      await eventually(
        () => !filesHold(databaseFiles(atEmil), nameAtEmil),
        15_000,
        'the record leaves emil’s files',
      );
      assert.ok(existsSync(join(atEmil, 'client.db-wal')), 'checked while the WAL exists');
      // Dora's profile: the next command after the timer deletes it.
      await ok(world, 'dora', ['conversations']);
      assert.ok(!filesHold(databaseFiles(atDora), nameAtDora), 'gone from dora’s files');
      for (const dir of [atDora, atEmil]) assert.ok(!filesHold(databaseFiles(dir), plaintext));
    } finally {
      listening.child.kill('SIGINT');
      assert.equal(await listening.exited, 0);
    }
    await ok(world, 'dora', ['disappear', 'emil', 'off']);
  });

  it(
    'the chat screen shows a message arrive, sends one, and shows it read',
    { skip: !hasTmux() },
    async () => {
      const socket = `ghostproof-test-${tag}`;
      const tmux = (...args: string[]) =>
        execFileSync('tmux', ['-L', socket, ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      const screen = () => tmux('capture-pane', '-p', '-t', 'chat');
      const exitFile = join(world.root, 'chat-exit');
      const command = [
        process.execPath,
        bin,
        '--server',
        world.url,
        '--profile',
        world.profile('emil'),
        'chat',
        'dora',
      ]
        .map((a) => `'${a}'`)
        .join(' ');
      tmux('new-session', '-d', '-x', '120', '-y', '40', '-s', 'chat', `${command}; echo $? > '${exitFile}'`);
      try {
        await eventually(() => screen().includes('Ghostproof · emil'), 20_000, 'the chat screen');
        const incoming = marked('live over the wire');
        await ok(world, 'dora', ['send', 'emil', incoming]);
        await eventually(() => screen().includes(incoming), 15_000, 'the message on screen');

        const outgoing = marked('typed in chat');
        tmux('send-keys', '-t', 'chat', outgoing, 'Enter');
        await eventually(
          () =>
            screen().includes(`you: ${outgoing}  [sent]`) ||
            screen().includes(`you: ${outgoing}  [delivered]`),
          15_000,
          'the sent message with its state',
        );
        const atDora = await receive(world, 'dora');
        assert.ok(atDora.some((m) => m.text === outgoing && m.sender === 'emil'));
        // Dora printed it, which counts as read: the receipt reaches the screen.
        await eventually(() => screen().includes(`you: ${outgoing}  [read]`), 15_000, 'the read receipt');

        tmux('send-keys', '-t', 'chat', 'C-c');
        await eventually(() => existsSync(exitFile), 15_000, 'chat to exit');
        assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');
      } finally {
        try {
          tmux('kill-server');
        } catch {
          // Already gone with its only session.
        }
      }
    },
  );

  it('leaves neither plaintext nor file bytes in the server’s data directory', () => {
    assert.ok(plaintexts.length >= 3);
    for (const plaintext of plaintexts) {
      assert.deepEqual(filesContaining(world.dataDir, plaintext), [], plaintext);
    }
    for (let offset = 0; offset < file.length; offset += 1024 * 1024 + 4099) {
      const sample = file.subarray(offset, offset + 64);
      assert.deepEqual(filesContaining(world.dataDir, sample), [], `file bytes at ${offset}`);
    }
    // Positive control: the encrypted upload is there, about as large as the file.
    const sizes = filesUnder(world.dataDir).map((f) => statSync(f).size);
    assert.ok(Math.max(...sizes) >= file.length, 'the ciphertext of the file is stored');
  });
});
