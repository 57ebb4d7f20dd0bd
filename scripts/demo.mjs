// `npm run demo`: Ghostproof end to end on this machine, with the real `ghostproof` command.
// Starts a server on a free port with its data in a temporary directory, creates three
// people (alice, bob, carol) with their own temporary profiles, exchanges 1:1 and group
// messages and a file, shows a safety number, and stops the server. Every step is printed
// as the command a person would type; any failure stops the demo with a non-zero exit code.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'apps/cli/bin/ghostproof.mjs');
const work = mkdtempSync(join(tmpdir(), 'ghostproof-demo-'));
const dim = (text) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);

let server;
let serverUrl;

function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(
      process.execPath,
      [
        bin,
        'serve',
        '--port',
        '0',
        '--data',
        join(work, 'server'),
        '--rate',
        'registrationsPerAddress=100/1h',
        '--log-level',
        'info',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    createInterface({ input: server.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        if (entry.event === 'listening') resolve(`http://127.0.0.1:${entry.port}`);
      } catch {
        // Not a log line.
      }
    });
    server.once('exit', (code) => reject(new Error(`the server exited early (${code})`)));
  });
}

/** Runs `ghostproof --profile <person's> args...`, prints it and its output, returns stdout. */
function ghostproof(person, args, expect) {
  const profile = join(work, person);
  const shown = args.map((a) => (/[\s"'$]/.test(a) ? `"${a}"` : a)).join(' ');
  console.log(`\n${bold(`${person}$`)} ghostproof ${shown}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--server', serverUrl, '--profile', profile, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      process.stdout.write(dim(chunk.toString()));
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`ghostproof ${args[0]} exited with ${code}: ${stderr.trim()}`));
      else if (expect && !stdout.includes(expect)) reject(new Error(`expected "${expect}" in the output`));
      else resolve(stdout);
    });
  });
}

function step(title) {
  console.log(`\n${bold(`== ${title}`)}`);
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
  server.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) throw new Error(`the server stopped with exit code ${code}`);
}

async function demo() {
  step('A server on a free port, data in a temporary directory');
  serverUrl = await startServer();
  console.log(`Server at ${serverUrl}; everything lives under ${work}`);

  step('Three people register, each with their own profile (one account on one server)');
  for (const person of ['alice', 'bob', 'carol']) await ghostproof(person, ['register', person], person);

  step('A 1:1 conversation: the first message is a request until bob accepts it');
  await ghostproof('alice', ['send', 'bob', 'Hi Bob, it is Alice.'], 'Sent');
  await ghostproof('bob', ['receive'], 'Hi Bob, it is Alice.');
  await ghostproof('bob', ['requests', 'accept', 'alice'], 'Accepted');
  await ghostproof('bob', ['send', 'alice', 'Hi Alice! Got it.'], 'Sent');
  await ghostproof('alice', ['receive'], 'Hi Alice! Got it.');

  step('A group of three');
  const created = JSON.parse(
    await ghostproof('alice', ['--json', 'group', 'create', 'Newsroom', 'bob', 'carol'], 'conversation'),
  );
  const group = created.short;
  await ghostproof('carol', ['requests', 'accept', group], 'Accepted');
  await ghostproof('alice', ['send', group, 'Welcome to the newsroom.'], 'Sent');
  await ghostproof('bob', ['receive'], 'Welcome to the newsroom.');
  await ghostproof('carol', ['receive'], 'Welcome to the newsroom.');
  await ghostproof('carol', ['send', group, 'Thanks, glad to be here.'], 'Sent');
  await ghostproof('alice', ['group', 'members', group], 'carol');

  step('A file: encrypted on alice’s machine, its digest checked on bob’s');
  const file = join(work, 'notes.txt');
  writeFileSync(file, `Meeting notes ${randomBytes(8).toString('hex')}\n`.repeat(2000));
  await ghostproof('alice', ['attach', 'bob', file, '--caption', 'the notes'], 'Sent notes.txt');
  const received = await ghostproof('bob', ['receive'], 'saved to');
  const saved = /saved to (.+)$/m.exec(received)?.[1];
  const digest = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
  if (!saved || digest(saved) !== digest(file))
    throw new Error('the received file differs from the sent one');
  console.log(dim(`(the saved copy has the same SHA-256 as the original: ${digest(file).slice(0, 16)}…)`));

  step('Safety numbers: alice and bob see the same digits, and mark each other verified');
  const atAlice = await ghostproof('alice', ['verify', 'bob', '--mark'], 'Safety number');
  const atBob = await ghostproof('bob', ['verify', 'alice', '--no-qr', '--mark'], 'Safety number');
  const digits = (text) => text.match(/(\d{5} {2}){3}\d{5}/g)?.join(' ');
  if (!digits(atAlice) || digits(atAlice) !== digits(atBob)) throw new Error('the safety numbers differ');

  step('Stopping the server');
  await stopServer();
  console.log('\nDemo finished: every step worked.');
}

try {
  await demo();
} catch (error) {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
