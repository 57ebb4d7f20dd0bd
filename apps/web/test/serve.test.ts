// `npm run serve:web`'s front: the build with the client's headers (its CSP above all), gzip'd
// when accepted, nothing outside the build, and the API and WebSocket forwarded to the server.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { WEB_CSP as SERVER_WEB_CSP } from '@ghostproof/server';
import { startTestServer, type TestServer } from '@ghostproof/testkit';
import { WEB_CSP } from '../src/build/headers.js';
import { startWebFront, type WebFront } from '../src/build/serve.js';
import { tempDir } from './helpers/front.js';

describe('serve:web front', () => {
  let root: string;
  let server: TestServer;
  let front: WebFront;

  before(async () => {
    root = tempDir('ghostproof-serve-root-');
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'assets', 'a.js'), 'export const a = 1;\n'.repeat(50));
    server = await startTestServer();
    const { url } = server;
    front = await startWebFront({ webRoot: root, backendUrl: url, gzip: true });
  });

  after(async () => {
    await front.close();
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('uses the same policy as the server does when it serves the client', () => {
    assert.equal(SERVER_WEB_CSP, WEB_CSP);
  });

  it('serves index.html at / with the client’s CSP', async () => {
    const res = await fetch(`${front.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), WEB_CSP);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(await res.text(), '<!doctype html><title>t</title>');
  });

  it('sends scripts gzip’d when the browser accepts it', async () => {
    const res = await fetch(`${front.url}/assets/a.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
  });

  it('never serves a file outside the build', async () => {
    for (const path of ['/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/../../x']) {
      const res = await fetch(`${front.url}${path}`);
      assert.notEqual(res.status, 200, path);
      await res.arrayBuffer();
    }
  });

  it('forwards the API and the WebSocket to the server', async () => {
    const health = await fetch(`${front.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ws = new WebSocket(`${front.url.replace('http', 'ws')}/v1/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
  });
});
