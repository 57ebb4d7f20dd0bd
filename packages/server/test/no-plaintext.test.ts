// What a server that relays only ciphertext must never keep or write: the tests send MLS
// messages whose "ciphertext" carries a known marker and attachments with another, then
// look at the raw SQLite files (database and WAL) and the captured logs. Usernames are
// stored by design (they are the directory); the logs must not hold them either.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ContentType, routes, toBase64Url } from '@ghostproof/api';
import { SqliteStore } from '@ghostproof/server';
import {
  call,
  privateMessage,
  randomId,
  startServer,
  TestAccount,
  welcomeFor,
  WsClient,
  type Harness,
} from './helpers/harness.js';

const MESSAGE_MARKER = `MSG-MARKER-${randomId(6).join('')}`;
const ATTACHMENT_MARKER = `ATT-MARKER-${randomId(6).join('')}`;

function sqliteFiles(dir: string): Buffer {
  const base = join(dir, 'ghostproof.sqlite');
  return Buffer.concat(
    [base, `${base}-wal`, `${base}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
  );
}

/** Every form in which a byte string could appear in a text log. */
function textForms(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  return [b.toString('hex'), b.toString('base64'), b.toString('base64url')];
}

function leaks(logs: readonly string[], secrets: readonly string[]): string[] {
  const text = logs.join('\n');
  return secrets.filter((s) => s.length >= 6 && text.includes(s));
}

/** Runs a session that sends marked messages to b, and b's acknowledgement of them. */
async function sendAndAck(h: Harness): Promise<void> {
  const a = await (await TestAccount.create(h.url)).register();
  const b = await (await TestAccount.create(h.url)).register();
  const [tokenA, tokenB] = [await a.signIn(), await b.signIn()];
  const kp = await b.keyPackage();
  await call(h.url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token: tokenB });
  await call(h.url, routes.claimKeyPackages, { username: b.username }, { token: tokenA });
  const wsA = await WsClient.connect(h.url, tokenA);
  const groupId = randomId();
  await wsA.ok('routingList', { case: 'createGroup', value: { groupId } });
  await wsA.ok('accepted', {
    case: 'sendCommit',
    value: {
      clientId: randomId(),
      commit: privateMessage(groupId, 0n, ContentType.Commit),
      welcome: welcomeFor([kp.ref]),
    },
  });
  await wsA.ok('accepted', {
    case: 'sendMessage',
    value: {
      clientId: randomId(),
      message: privateMessage(groupId, 1n, ContentType.Application, { marker: MESSAGE_MARKER }),
    },
  });
  const wsB = await WsClient.connect(h.url, tokenB);
  await wsB.ack((await wsB.waitForDeliveries(2)).map((d) => d.messageId));
  await Promise.all([wsA.close(), wsB.close()]);
  await h.server.sweep();
}

describe('no plaintext at rest or in logs', () => {
  let h: Harness;
  const secrets: string[] = [];
  const messageIds: Uint8Array[] = [];
  let tokenB: Uint8Array;
  let attachmentBlob: Uint8Array<ArrayBuffer>;

  before(async () => {
    h = await startServer();
    // A whole session: registration, sign-in, key packages, a group with a Welcome, messages,
    // an attachment, acknowledgements.
    const a = await (await TestAccount.create(h.url, 'marker-alice')).register();
    const b = await (await TestAccount.create(h.url, 'marker-bob')).register();
    const tokenA = await a.signIn();
    tokenB = await b.signIn();
    const kp = await b.keyPackage();
    await call(h.url, routes.uploadKeyPackages, { oneTime: [kp.bytes] }, { token: tokenB });
    await call(h.url, routes.claimKeyPackages, { username: b.username }, { token: tokenA });
    const wsA = await WsClient.connect(h.url, tokenA);
    const groupId = randomId();
    await wsA.ok('routingList', { case: 'createGroup', value: { groupId } });
    const commitId = randomId();
    await wsA.ok('accepted', {
      case: 'sendCommit',
      value: {
        clientId: commitId,
        commit: privateMessage(groupId, 0n, ContentType.Commit),
        welcome: welcomeFor([kp.ref]),
      },
    });
    const clientIds = [randomId(), randomId(), randomId()];
    for (const clientId of clientIds) {
      const sent = await wsA.ok('accepted', {
        case: 'sendMessage',
        value: {
          clientId,
          message: privateMessage(groupId, 1n, ContentType.Application, { marker: MESSAGE_MARKER }),
        },
      });
      messageIds.push(sent.messageId);
    }
    attachmentBlob = new Uint8Array(4096);
    crypto.getRandomValues(attachmentBlob);
    attachmentBlob.set(new TextEncoder().encode(ATTACHMENT_MARKER), 100);
    const res = await fetch(new URL('/v1/attachments', h.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${toBase64Url(tokenA)}` },
      body: attachmentBlob,
    });
    assert.equal(res.status, 200);
    await wsA.close();
    secrets.push(
      a.username,
      b.username,
      MESSAGE_MARKER,
      ATTACHMENT_MARKER,
      ...[tokenA, tokenB, groupId, commitId, kp.ref, ...clientIds, ...messageIds].flatMap(textForms),
    );
  });
  after(() => h.stop());

  it('keeps undelivered ciphertext only in the messages table (control: the scan sees it)', () => {
    assert.ok(
      sqliteFiles(h.dataDir).includes(MESSAGE_MARKER),
      'the file scan must be able to see stored bytes',
    );
    const db = new Database(join(h.dataDir, 'ghostproof.sqlite'), { readonly: true });
    try {
      const row = db
        .prepare('SELECT COUNT(*) AS n FROM messages WHERE instr(body, ?) > 0')
        .get(Buffer.from(MESSAGE_MARKER)) as { n: number };
      assert.equal(row.n, 3);
    } finally {
      db.close();
    }
  });

  it('never writes attachment bytes or raw secrets into the database files', () => {
    const files = sqliteFiles(h.dataDir);
    assert.ok(!files.includes(ATTACHMENT_MARKER));
    assert.ok(!files.includes(Buffer.from(tokenB)), 'session tokens are stored hashed');
    const blobs = readdirSync(join(h.dataDir, 'attachments')).filter((f) => f !== 'tmp');
    assert.equal(blobs.length, 1);
    assert.deepEqual(new Uint8Array(readFileSync(join(h.dataDir, 'attachments', blobs[0]!))), attachmentBlob);
  });

  it('leaves no trace of acknowledged messages in the database or WAL after a sweep', async () => {
    const wsB = await WsClient.connect(h.url, tokenB);
    const deliveries = await wsB.waitForDeliveries(4);
    await wsB.ack(deliveries.map((d) => d.messageId));
    await wsB.close();
    await h.server.sweep();
    const files = sqliteFiles(h.dataDir);
    assert.ok(!files.includes(MESSAGE_MARKER), 'acknowledged ciphertext still in the SQLite files');
  });

  it('writes no usernames, ids, tokens or payload bytes to the logs (control: the scan finds a planted one)', () => {
    assert.ok(h.logs.length > 20, 'the session produced log lines');
    assert.deepEqual(leaks(h.logs, secrets), []);
    assert.deepEqual(leaks([...h.logs, `{"msg":"oops ${secrets[0]}"}`], secrets), [secrets[0]]);
  });
});

describe('secure delete (negative control)', () => {
  it('without secure_delete, acknowledged ciphertext would stay readable in the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ghostproof-insecure-'));
    const store = new SqliteStore({ path: join(dir, 'ghostproof.sqlite'), secureDelete: false });
    const h = await startServer({ store, dataDir: dir });
    try {
      await sendAndAck(h);
      assert.ok(sqliteFiles(dir).includes(MESSAGE_MARKER), 'the marker should survive without secure_delete');
    } finally {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with it (the default), the same session leaves nothing', async () => {
    const h = await startServer();
    try {
      await sendAndAck(h);
      assert.ok(!sqliteFiles(h.dataDir).includes(MESSAGE_MARKER));
    } finally {
      await h.stop();
    }
  });
});
