import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { decodeResponse, ErrorBodySchema, routes } from '@ghostproof/api';
import { call, startServer, TestAccount, type Harness } from './helpers/harness.js';

describe('operations', () => {
  let h: Harness;
  before(async () => {
    h = await startServer({ metrics: { defaultMetrics: true } });
  });
  after(() => h.stop());

  it('answers /health', async () => {
    const res = await fetch(new URL('/health', h.url));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('serves a placeholder page at / under a strict CSP, saying the web client is not built yet', async () => {
    const res = await fetch(h.url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /web client is not built yet/);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  });

  it('puts security headers and typed errors on API responses', async () => {
    const res = await fetch(new URL('/v1/nothing-here', h.url));
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('ghostproof-error'), 'not-found');
    assert.equal(
      res.headers.get('content-security-policy'),
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = decodeResponse(ErrorBodySchema, new Uint8Array(await res.arrayBuffer()), 4096);
    assert.equal(body.code, 'not-found');
    const tooBig = await fetch(new URL('/v1/session', h.url), { method: 'POST', body: new Uint8Array(5000) });
    assert.equal(tooBig.status, 413);
    const garbage = await fetch(new URL('/v1/session', h.url), {
      method: 'POST',
      body: new Uint8Array([0xff, 1]),
    });
    assert.equal(garbage.status, 400);
    assert.equal(garbage.headers.get('ghostproof-error'), 'malformed');
  });

  it('describes itself at /v1/info', async () => {
    const info = await call(h.url, routes.serverInfo, undefined);
    assert.equal(info.origin, new URL(h.url).origin);
    assert.equal(info.limits!.applicationMessageBytes, 256 * 1024);
    assert.equal(info.limits!.handshakeMessageBytes, 16 * 1024 * 1024);
    assert.deepEqual([...info.cipherSuites].sort(), [0x0001, 0xf00d]);
  });

  it('exports Prometheus metrics', async () => {
    await (await TestAccount.create(h.url)).register();
    const text = await (await fetch(new URL('/metrics', h.url))).text();
    assert.match(text, /ghostproof_http_requests_total\{route="register",status="200"\} \d/);
    assert.match(text, /ghostproof_store_flush_seconds_bucket/);
    assert.match(text, /ghostproof_process_cpu_user_seconds_total/);
  });

  it('closes gracefully: refuses new work, then stops', async () => {
    const local = await startServer();
    await (await TestAccount.create(local.url)).register();
    const closing = local.server.close();
    await closing;
    await local.server.closed;
    await assert.rejects(fetch(new URL('/health', local.url)));
    assert.ok(local.logs.some((line) => (JSON.parse(line) as { event?: string }).event === 'stopped'));
    rmSync(local.dataDir, { recursive: true, force: true });
  });
});

describe('TLS', () => {
  it('serves HTTPS and WSS from a certificate and key in the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ghostproof-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const h = await startServer({ tls: { certPath: cert, keyPath: key } });
    try {
      assert.match(h.url, /^https:/);
      const ca = (await import('node:fs')).readFileSync(cert);
      const { status, hsts } = await new Promise<{ status: number; hsts: string | undefined }>(
        (resolve, reject) => {
          get(new URL('/health', h.url), { ca }, (res) => {
            res.resume();
            resolve({ status: res.statusCode!, hsts: res.headers['strict-transport-security'] });
          }).on('error', reject);
        },
      );
      assert.equal(status, 200);
      assert.match(hsts!, /max-age=/);
      const ws = new WebSocket(new URL('/v1/ws', h.url.replace('https', 'wss')), { ca });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.close();
      // Plain HTTP to the TLS port does not work.
      await assert.rejects(fetch(h.url.replace('https', 'http') + '/health'));
    } finally {
      await h.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
