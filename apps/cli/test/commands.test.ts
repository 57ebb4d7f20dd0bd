// The command line itself, run in this process (no child processes): --help on every
// command and subcommand, usage and runtime errors as one line with the right exit code,
// settings from flags and environment, a profile refusing another server, and the pieces
// the output is made of (durations, progress bars, terminal-safe text, the chat screen).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '@ghostproof/cli';
import { formatDuration, parseDuration } from '../src/commands/disappear.js';
import { clientSettings, normalizeServerUrl } from '../src/config/client.js';
import { readClientEnv } from '../src/config/env.js';
import { UsageError } from '../src/config/usage-error.js';
import { safeFileName } from '../src/session/attachments.js';
import { shortId } from '../src/session/names.js';
import { renderChat, type ChatScreenState } from '../src/ui/chat-screen.js';
import { renderProgress } from '../src/ui/output.js';
import { displayWidth, sanitize, wrap } from '../src/ui/terminal-text.js';
import { startWorld, type World } from './helpers/cli.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    }),
    text: () => chunks.join(''),
  };
}

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const [out, err] = [sink(), sink()];
  const code = await main(argv, { stdout: out.stream, stderr: err.stream, env });
  return { code, stdout: out.text(), stderr: err.text() };
}

const commandLines = [
  ['register'],
  ['whoami'],
  ['send'],
  ['receive'],
  ['chat'],
  ['conversations'],
  ['requests'],
  ['requests', 'list'],
  ['requests', 'accept'],
  ['requests', 'decline'],
  ['requests', 'block'],
  ['block'],
  ['group'],
  ['group', 'create'],
  ['group', 'add'],
  ['group', 'remove'],
  ['group', 'members'],
  ['group', 'admins'],
  ['group', 'leave'],
  ['verify'],
  ['devices'],
  ['attach'],
  ['disappear'],
  ['profile'],
  ['profile', 'name'],
  ['serve'],
];

describe('ghostproof command line', () => {
  it('answers --help on every command and subcommand, with exit code 0', async () => {
    const top = await run(['--help']);
    assert.equal(top.code, 0);
    for (const name of ['register', 'send', 'receive', 'chat', 'group', 'verify', 'attach', 'disappear']) {
      assert.match(top.stdout, new RegExp(`\\n  ${name} `));
    }
    for (const line of commandLines) {
      for (const flag of ['--help', '-h']) {
        const result = await run([...line, flag]);
        assert.equal(result.code, 0, `${line.join(' ')} ${flag}: ${result.stderr}`);
        assert.match(result.stdout, /^Usage: ghostproof /, line.join(' '));
        assert.equal(result.stderr, '');
      }
    }
    // Global options before the command are fine too.
    assert.equal((await run(['--json', 'send', '--help'])).code, 0);
  });

  it('reports usage errors in one line with exit code 2', async () => {
    for (const argv of [
      ['send', 'bob'],
      ['receive', '--wait', 'soon'],
      ['whoami', '--frobnicate'],
      ['disappear', 'bob', 'forever'],
      ['group', 'explode'],
      ['group'],
      ['whoami', '--server', 'ftp://example.org'],
    ]) {
      const result = await run(argv);
      assert.equal(result.code, 2, argv.join(' '));
      assert.match(
        result.stderr,
        /^ghostproof [a-z ]+: .*\(see "ghostproof [a-z ]+--help"\)\n$/,
        argv.join(' '),
      );
    }
  });

  it('reports failures in one line with exit code 1: no account, no server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ghostproof-cli-empty-'));
    try {
      const noAccount = await run(['send', 'bob', 'hi', '--profile', join(dir, 'none')]);
      assert.equal(noAccount.code, 1);
      assert.match(noAccount.stderr, /no account in the profile .*ghostproof register/);
      assert.equal(noAccount.stderr.trim().split('\n').length, 1);
      const noServer = await run(['register', 'alice', '--profile', dir, '--server', 'http://127.0.0.1:9']);
      assert.equal(noServer.code, 1);
      assert.equal(noServer.stderr.trim().split('\n').length, 1, noServer.stderr);
      assert.match(noServer.stderr, /^ghostproof register: cannot reach the server/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the server and profile from flags, then the environment, then defaults', () => {
    const defaults = clientSettings({}, {}, '/home/x');
    assert.equal(defaults.serverUrl, 'http://localhost:8080');
    assert.equal(defaults.serverExplicit, false);
    assert.equal(defaults.profileDir, '/home/x/.ghostproof');
    const env = readClientEnv({ GHOSTPROOF_SERVER: 'https://chat.example.org/', GHOSTPROOF_PROFILE: '~/p' });
    const fromEnv = clientSettings({}, env, '/home/x');
    assert.equal(fromEnv.serverUrl, 'https://chat.example.org');
    assert.equal(fromEnv.serverExplicit, true);
    assert.equal(fromEnv.profileDir, '/home/x/p');
    const fromFlags = clientSettings(
      { server: 'localhost:9000', profile: '/tmp/q', json: true },
      env,
      '/home/x',
    );
    assert.equal(fromFlags.serverUrl, 'http://localhost:9000');
    assert.equal(fromFlags.profileDir, '/tmp/q');
    assert.equal(fromFlags.json, true);
    assert.throws(() => normalizeServerUrl('http://user:pw@example.org'), UsageError);
  });
});

describe('ghostproof: a profile is one account on one server', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    await world.close();
  });

  it('registers, remembers its server, and refuses another one', async () => {
    const profile = world.profile('olga');
    const registered = await run(['--json', 'register', 'olga', '--server', world.url, '--profile', profile]);
    assert.equal(registered.code, 0, registered.stderr);
    // The profile's own server is used without --server...
    const who = await run(['whoami', '--json', '--profile', profile]);
    assert.deepEqual(JSON.parse(who.stdout), { username: 'olga', device: 1 });
    // ...and another one is refused, clearly.
    const other = await run(['whoami', '--profile', profile, '--server', 'http://127.0.0.1:9']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /is an account on http:\/\/127\.0\.0\.1:\d+, not http:\/\/127\.0\.0\.1:9/);
    const again = await run(['register', 'olga2', '--profile', profile]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds the account "olga"/);
    const taken = await run([
      'register',
      'olga',
      '--server',
      world.url,
      '--profile',
      world.profile('olga-b'),
    ]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /taken \(username-taken\)/);
  });
});

describe('ghostproof output pieces', () => {
  it('parses and prints disappearing timers', () => {
    assert.equal(parseDuration('30s'), 30);
    assert.equal(parseDuration('5m'), 300);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('1d'), 86_400);
    assert.equal(parseDuration('off'), 0);
    for (const bad of ['0s', '5', 'soon', '400d', '-1m'])
      assert.throws(() => parseDuration(bad), UsageError, bad);
    assert.equal(formatDuration(300), '5m');
    assert.equal(formatDuration(90), '90s');
  });

  it('draws a progress bar', () => {
    assert.equal(
      renderProgress('upload a.bin', 5 * 1024 * 1024, 10 * 1024 * 1024, 80),
      `upload a.bin [${'#'.repeat(20)}${'-'.repeat(20)}]  50%  5.0 MiB / 10 MiB`,
    );
    assert.match(renderProgress('x', 10, 10, 40), /\[#+\] 100%/);
  });

  it('never prints control characters from other people', () => {
    assert.equal(sanitize('hi\x1b]52;c;bad\x07there'), 'hi\ufffd]52;c;bad\ufffdthere');
    assert.equal(sanitize('two\nlines'), 'two lines');
    assert.equal(sanitize('two\nlines', true), 'two\nlines');
    assert.equal(safeFileName('../../etc/passwd'), 'passwd');
    assert.equal(safeFileName('..'), 'attachment');
    assert.equal(safeFileName('.bashrc'), 'bashrc');
    assert.equal(safeFileName('a\x1b[2Jb.txt'), 'a_[2Jb.txt');
    assert.equal(displayWidth('日本'), 4);
    assert.deepEqual(wrap('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
  });

  it('names conversations by the shortest unique prefix of at least eight digits', () => {
    const info = (id: string) => ({ id }) as Parameters<typeof shortId>[1][number];
    const all = [info('aaaaaaaa11'), info('aaaaaaaa22'), info('bbbbbbbbbb')];
    assert.equal(shortId('aaaaaaaa11', all), 'aaaaaaaa1');
    assert.equal(shortId('bbbbbbbbbb', all), 'bbbbbbbb');
  });

  it('lays out the chat screen: list, messages with delivery state, input line', () => {
    const state: ChatScreenState = {
      header: 'Ghostproof · alice on http://localhost:8080',
      connection: 'online',
      conversations: [
        { id: 'a', title: 'bob', unread: 0, tag: '' },
        { id: 'b', title: 'Reporters', unread: 2, tag: '' },
        { id: 'c', title: 'mallory', unread: 1, tag: 'request' },
      ],
      selected: 'a',
      title: 'bob · 1:1',
      messages: [
        { time: '10:00', sender: 'bob', mine: false, text: 'hello \x1b[2J' },
        { time: '10:01', sender: 'alice', mine: true, text: 'hi', state: 'read' },
        { time: '10:02', sender: 'alice', mine: true, text: 'are you there', state: 'sending' },
      ],
      scroll: 0,
      status: '',
      input: 'typing this',
      footer: 'Enter send',
    };
    const rows = renderChat(state, 100, 20);
    assert.equal(rows.length, 20);
    // eslint-disable-next-line no-control-regex
    const plain = rows.map((r) => r.replace(/\x1b\[[0-9;]*m/g, ''));
    assert.ok(
      plain.every((r) => displayWidth(r) === 100),
      'every row fills the width',
    );
    const text = plain.join('\n');
    assert.match(text, /> bob/);
    assert.match(text, /Reporters +2/);
    assert.match(text, /mallory \[request\]/);
    assert.match(text, /10:01 you: hi {2}\[read\]/);
    assert.match(text, /10:02 you: are you there {2}\[sending\]/);
    assert.match(text, /10:00 bob: hello \ufffd\[2J/);
    assert.match(plain[18]!, /^> typing this/, 'the input line, above the footer');
    assert.match(plain[19]!, /^Enter send/);
  });
});
