import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main, readServeEnv, serveSettings, UsageError } from '@ghostproof/cli';

const bin = fileURLToPath(new URL('../bin/ghostproof.mjs', import.meta.url));

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

describe('ghostproof serve: configuration', () => {
  it('takes defaults, then the environment, then flags', () => {
    const defaults = serveSettings([], {});
    assert.equal(defaults.options.port, 8080);
    assert.equal(defaults.options.host, '127.0.0.1');
    assert.match(defaults.options.dataDir, /\/data$/);
    const env = readServeEnv({
      GHOSTPROOF_PORT: '9000',
      GHOSTPROOF_INVITE_CODES: 'code-one-1234,code-two-1234',
      OTHER: 'x',
    });
    const fromEnv = serveSettings([], env);
    assert.equal(fromEnv.options.port, 9000);
    assert.deepEqual(fromEnv.options.invites?.codes, ['code-one-1234', 'code-two-1234']);
    const fromFlags = serveSettings(
      ['--port', '9100', '--rate', 'sendsPerDevice=5000/10s', '--max-handshake-mb', '4'],
      env,
    );
    assert.equal(fromFlags.options.port, 9100);
    assert.deepEqual(fromFlags.options.rates?.sendsPerDevice, { limit: 5000, windowMs: 10_000 });
    assert.equal(fromFlags.options.limits?.handshakeMessageBytes, 4 * 1024 * 1024);
  });

  it('refuses bad values with a usage error naming the flag', () => {
    for (const args of [
      ['--port', '70000'],
      ['--port', 'x'],
      ['--tls-cert', 'a.pem'],
      ['--rate', 'nope=1/1s'],
      ['--sqlite-synchronous', 'off'],
      ['--origin', 'https://x.example/path'],
      ['--invite-code', 'short'],
      ['--unknown'],
    ]) {
      assert.throws(() => serveSettings(args, {}), UsageError, args.join(' '));
    }
  });

  it('prints help and returns 2 for unknown commands', async () => {
    const out = sink();
    const err = sink();
    const io = { stdout: out.stream, stderr: err.stream, env: {} };
    assert.equal(await main(['serve', '--help'], io), 0);
    assert.match(out.text(), /--tls-cert FILE/);
    assert.equal(await main(['frobnicate'], io), 2);
    assert.match(err.text(), /unknown command/);
    assert.equal(await main(['serve', '--port', 'x'], io), 2);
  });
});

describe('ghostproof serve: the process', () => {
  it('serves health and the placeholder page, and stops with exit code 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-cli-'));
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines: string[] = [];
      const port = await new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          lines.push(line);
          const entry = JSON.parse(line) as { event?: string; port?: number };
          if (entry.event === 'listening') resolve(entry.port!);
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const base = `http://127.0.0.1:${port}`;
      assert.deepEqual(await (await fetch(`${base}/health`)).json(), { status: 'ok' });
      assert.match(await (await fetch(base)).text(), /web client is not built yet/);
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      assert.equal(await exit, 0);
      assert.ok(lines.some((l) => (JSON.parse(l) as { event?: string }).event === 'stopped'));
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
