// Nothing unpatched runs: the protocol package checks, before the first conversation exists,
// that the MLS library it loaded puts an update path in a one-member remove and lets the
// removed member process its removal (docs/protocol.md, "The ts-mls patch"). An install that
// skipped patches/ must fail loudly, never run the unsafe rule.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import * as unpatched from 'ts-mls-unpatched';
import { checkMlsConformance, ProtocolError } from '@ghostproof/protocol';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const register = fileURLToPath(new URL('./helpers/unpatched-mls-register.mjs', import.meta.url));
const registerFirstPatch = fileURLToPath(new URL('./helpers/first-patch-mls-register.mjs', import.meta.url));

/**
 * Opens a ProtocolClient in a fresh process: on the library as installed, on the unpatched
 * library (`true`), or with other module hooks registered.
 */
function openClientInProcess(onUnpatched: boolean | string) {
  const script = `
    import { createAccount, MemoryProtocolStore, ProtocolClient, VerifiedListDirectory } from '@ghostproof/protocol';
    const { device } = await createAccount('alice');
    try {
      await ProtocolClient.create({ device, directory: new VerifiedListDirectory(), store: new MemoryProtocolStore() });
      console.log('opened');
    } catch (error) {
      console.log('refused:' + error.code);
      console.error(error.message);
      process.exitCode = 3;
    }`;
  return spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      ...(onUnpatched === false ? [] : ['--import', onUnpatched === true ? register : onUnpatched]),
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: root, encoding: 'utf8', timeout: 60_000 },
  );
}

describe('the MLS library self-check', () => {
  it('passes on the library as installed (patched)', async () => {
    await checkMlsConformance();
  });

  it('refuses ts-mls 2.0.0-rc.10 as published: its one-member remove has no update path', async () => {
    await assert.rejects(checkMlsConformance(unpatched), (e) => {
      assert.ok(ProtocolError.is(e, 'nonconforming-mls'));
      assert.match(e.message, /one-member remove carries no update path/);
      return true;
    });
  });

  it('an app on an install without the patch fails to open, loudly', () => {
    const refused = openClientInProcess(true);
    assert.equal(refused.stdout.trim(), 'refused:nonconforming-mls', refused.stderr);
    assert.equal(refused.status, 3);
    // Control: the same process on the installed library opens.
    const opened = openClientInProcess(false);
    assert.equal(opened.stdout.trim(), 'opened', opened.stderr);
    assert.equal(opened.status, 0);
  });

  it('an install with only the earlier patch (GroupContextExtensions paths under the old context) fails to open', () => {
    const refused = openClientInProcess(registerFirstPatch);
    assert.equal(refused.stdout.trim(), 'refused:nonconforming-mls', refused.stderr);
    assert.equal(refused.status, 3);
    assert.match(refused.stderr, /a GroupContextExtensions commit with a path cannot be processed/);
  });
});
