// The web client's build is reproducible: two builds of the same sources, into two different
// directories, give the same files byte for byte, and the manifest's combined hash is the
// one coreutils compute with the command in docs/web.md. The bundle holds no local path and
// no inline script or style (the CSP allows none).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildWeb, hashBundle, MANIFEST_NAME, webRoot, type BundleManifest } from '../src/build/build.js';
import { tempDir } from './helpers/front.js';

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) =>
    statSync(join(dir, name)).isDirectory()
      ? files(join(dir, name), `${prefix}${name}/`)
      : [`${prefix}${name}`],
  );
}

describe('reproducible web build', () => {
  const dirs: string[] = [];
  let first: BundleManifest;
  let second: BundleManifest;

  before(async () => {
    dirs.push(tempDir('ghostproof-web-build-a-'), tempDir('ghostproof-web-build-b-'));
    first = await buildWeb(dirs[0]);
    second = await buildWeb(dirs[1]);
  });

  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('gives identical files, file by file, in two builds', () => {
    const [a, b] = [dirs[0]!, dirs[1]!];
    assert.deepEqual(files(a).sort(), files(b).sort());
    for (const name of files(a)) {
      assert.ok(readFileSync(join(a, name)).equals(readFileSync(join(b, name))), `${name} differs`);
    }
    assert.deepEqual(first, second);
    assert.match(first.bundleSha256, /^[0-9a-f]{64}$/);
    assert.ok(Object.keys(first.files).includes('index.html'));
    assert.ok(Object.keys(first.files).some((f) => /^assets\/index-[\w-]+\.js$/.test(f)));
  });

  it('writes a manifest that matches the files and the documented coreutils command', () => {
    const dir = dirs[0]!;
    const written = JSON.parse(readFileSync(join(dir, MANIFEST_NAME), 'utf8')) as BundleManifest;
    assert.deepEqual(written, hashBundle(dir));
    const coreutils = execFileSync(
      'sh',
      [
        '-c',
        `find . -type f ! -name ${MANIFEST_NAME} -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum | sha256sum`,
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(coreutils.split(' ')[0], written.bundleSha256);
  });

  it('a changed byte changes the bundle hash (negative control)', () => {
    const copy = tempDir('ghostproof-web-build-c-');
    dirs.push(copy);
    cpSync(dirs[0]!, copy, { recursive: true });
    const html = join(copy, 'index.html');
    writeFileSync(html, readFileSync(html, 'utf8').replace('<title>', '<title> '));
    assert.notEqual(hashBundle(copy).bundleSha256, first.bundleSha256);
  });

  it('embeds no local path, and the page has no inline script or style and no data: URL', () => {
    const dir = dirs[0]!;
    for (const name of files(dir)) {
      const text = readFileSync(join(dir, name), 'utf8');
      for (const local of [dir, webRoot, webRoot.replace(/apps\/web\/$/, '')]) {
        assert.ok(!text.includes(local), `${name} contains the local path ${local}`);
      }
    }
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    for (const tag of html.match(/<script[^>]*>/g) ?? []) assert.match(tag, /\ssrc="\/assets\//);
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i);
    for (const name of files(dir).filter((f) => f.endsWith('.css') || f.endsWith('.html'))) {
      assert.doesNotMatch(readFileSync(join(dir, name), 'utf8'), /data:/, `${name} holds a data: URL`);
    }
  });
});
