// `ghostproof audit` against a real server: an honest log audits from genesis and then from
// the saved checkpoint; the same server restarted on a rewritten log (its KT history deleted,
// same keys) is reported as a violation with exit status 1.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '@ghostproof/cli';
import { MemoryClientStore, Messenger } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { fastKeyTransparency, startTestServer, type TestServer } from '@ghostproof/testkit';

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

async function audit(argv: string[]) {
  const [out, err] = [sink(), sink()];
  const code = await main(['audit', ...argv], { stdout: out.stream, stderr: err.stream, env: {} });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('ghostproof audit', () => {
  let dir: string;
  let test: TestServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ghostproof-audit-'));
    test = await startTestServer({ kt: fastKeyTransparency });
  });

  after(async () => {
    await test.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes on an honest log, first from genesis and then from its saved checkpoint', async () => {
    const url = test.url;
    for (const name of ['alice', 'bob']) {
      const m = await Messenger.register(
        { serverUrl: url, store: new MemoryClientStore(), createSocket: nodeWebSocket },
        name,
      );
      await m.close();
    }
    await test.server.kt!.publish();
    const state = join(dir, 'audit-state.json');
    const first = await audit(['--server', url, '--state', state, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const result = JSON.parse(first.stdout) as { ok: boolean; from: number; to: number; updates: number };
    assert.deepEqual([result.ok, result.from, result.updates >= 2], [true, 0, true]);
    const carol = await Messenger.register(
      { serverUrl: url, store: new MemoryClientStore(), createSocket: nodeWebSocket },
      'carol',
    );
    await carol.close();
    await test.server.kt!.publish();
    const second = await audit(['--server', url, '--state', state]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`append-only from size ${result.to} to \\d+`));
  });

  it('reports a server restarted on a rewritten log as a violation, exit status 1', async () => {
    const state = join(dir, 'audit-state.json');
    // The operator throws its log away and starts again under the same keys.
    await test.restart(() => {
      rmSync(join(test.dataDir, 'kt.sqlite'), { force: true });
      rmSync(join(test.dataDir, 'kt.sqlite-wal'), { force: true });
      rmSync(join(test.dataDir, 'kt.sqlite-shm'), { force: true });
    });
    const outcome = await audit(['--server', test.url, '--state', state]);
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /^ghostproof audit: VIOLATION/);
    // Control: a fresh auditor with no saved state has nothing to compare, and passes.
    const fresh = await audit(['--server', test.url]);
    assert.equal(fresh.code, 0, fresh.stderr);
  });

  it('refuses bad arguments with exit status 2', async () => {
    assert.equal((await audit(['--server', 'not a url'])).code, 2);
    assert.equal((await audit(['--bogus'])).code, 2);
  });
});
