// The web bundle is never built from an MLS library without the project's patch: the build
// runs the library self-check first and refuses in one line. The unpatched install is
// simulated by resolving 'ts-mls' to the release as published (ts-mls-unpatched).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { tempDir } from './helpers/front.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = fileURLToPath(new URL('../src/build/cli.ts', import.meta.url));
const unpatched = fileURLToPath(
  new URL('../../../packages/protocol/test/helpers/unpatched-mls-register.mjs', import.meta.url),
);

describe('building the web client on an install without the MLS patch', () => {
  it('refuses, in one line, and writes no bundle', () => {
    const out = tempDir('ghostproof-web-unpatched-');
    rmSync(out, { recursive: true, force: true });
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', unpatched, cli, out], {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, /web client not built: the MLS library lacks its security patch/);
      assert.equal(existsSync(out), false, 'nothing built');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
