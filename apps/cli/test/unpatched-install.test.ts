// An installation that skipped patches/ (npm install --ignore-scripts) must not run: the
// command refuses with one line that says what to do, before any profile is opened. The
// install is simulated by resolving 'ts-mls' to the release as published (the development
// alias ts-mls-unpatched); the control runs the same command on the installed library.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ghostproof, startWorld, type World } from './helpers/cli.js';

const unpatched = fileURLToPath(
  new URL('../../../packages/protocol/test/helpers/unpatched-mls-register.mjs', import.meta.url),
);

describe('ghostproof on an install without the MLS patch', () => {
  let world: World;
  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    await world.close();
  });

  it('refuses to register, with one line that says what to do', async () => {
    const run = await ghostproof(world, 'alice', ['register', 'alice'], {
      NODE_OPTIONS: `--import ${unpatched}`,
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /without its security patch .*npm install/);
    assert.doesNotMatch(run.stderr, /at .*\.ts:\d+/, 'no stack trace');
    // Control: the same command on the library as installed registers, in the same profile
    // and under the same name: the refused run left no account behind, here or on the server.
    const control = await ghostproof(world, 'alice', ['register', 'alice']);
    assert.equal(control.code, 0, control.stderr);
  });
});
