// Durability against a crash of the process: a real server in a child process is killed
// with SIGKILL right after it accepted a message; a new process on the same data directory
// must deliver it. Also: SIGTERM stops the server gracefully.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { privateMessage, randomId, pairInGroup, relaxedRates, WsClient } from './helpers/harness.js';

const fixture = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url));

async function spawnServer(options: object): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

for (const synchronous of ['full', 'normal'] as const) {
  describe(`durability (synchronous=${synchronous})`, () => {
    it('delivers a message accepted just before the process was killed with SIGKILL', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-kill-'));
      const options = { dataDir, port: 0, rates: relaxedRates, sqlite: { synchronous } };
      try {
        const first = await spawnServer(options);
        const { tokenB, wsA, groupId, epoch } = await pairInGroup(first.url);
        const messages = [privateMessage(groupId, epoch), privateMessage(groupId, epoch)];
        for (const message of messages) {
          await wsA.ok('accepted', { case: 'sendMessage', value: { clientId: randomId(), message } });
        }
        const gone = exited(first.child);
        first.child.kill('SIGKILL');
        assert.equal((await gone).signal, 'SIGKILL');
        await wsA.closed;

        const second = await spawnServer(options);
        try {
          const wsB = await WsClient.connect(second.url, tokenB);
          const got = await wsB.waitForDeliveries(3);
          assert.deepEqual(
            got.slice(1).map((d) => Buffer.from(d.message).toString('hex')),
            messages.map((m) => Buffer.from(m).toString('hex')),
          );
          await wsB.close();
        } finally {
          const stopped = exited(second.child);
          second.child.kill('SIGTERM');
          assert.deepEqual(await stopped, { code: 0, signal: null });
        }
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
