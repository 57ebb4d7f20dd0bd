// The web bundle runs the patched MLS library (docs/protocol.md, "The ts-mls patch"): inside
// chromium, the protocol package as Vite bundles it for the web client passes the library
// self-check, and a member refuses a one-member remove without an update path (the commit
// rc.10 as published makes) while accepting the same remove made with one. Control: the
// published library accepts the path-less commit, so the refusal is the patch's doing.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { processMessage } from 'ts-mls-unpatched';
import { groupOf, World } from '../../../packages/protocol/test/helpers/people.js';
import { attackerContext, leafIndexOf, rawState } from '../../../packages/protocol/test/helpers/raw-mls.js';
import {
  commitWithUnpatchedRule,
  framedMessage,
} from '../../../packages/protocol/test/helpers/removed-member.js';
import { launchChromium, openPage, type PageProblems } from './helpers/browser.js';
import { startStatic, tempDir } from './helpers/front.js';
import { buildTestPages } from './helpers/pages.js';
import type { ConformanceInput, ConformanceResult } from './pages/conformance.js';
import { toHex as hex } from '@ghostproof/testkit/hex';

const XWING = 0xf00d;

describe('the MLS patch in the web bundle (chromium)', () => {
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };
  let dir: string;
  let problems: PageProblems;
  let result: ConformanceResult;
  let withoutPath: Uint8Array;
  let bobBefore: ReturnType<typeof rawState>;

  before(async () => {
    const world = new World(XWING);
    const alice = await world.person('alice');
    const bob = await world.person('bob');
    const carol = await world.person('carol');
    const convs = await groupOf(world, alice, [bob, carol]);
    const aliceConv = convs.get('alice/1')!;
    const bobConv = convs.get('bob/1')!;
    bobBefore = rawState(bobConv);
    withoutPath = (
      await commitWithUnpatchedRule(rawState(aliceConv), [leafIndexOf(aliceConv, 'carol')], XWING)
    ).commit;
    const withPath = (await aliceConv.prepareRemoveMembers(['carol'])).commit;
    const device = bob.devices[0]!.identity;
    const input: ConformanceInput = {
      username: device.username,
      deviceId: device.deviceId,
      publicKey: hex(device.signatureKey.publicKey),
      secretKey: hex(device.signatureKey.secretKey),
      groupId: hex(bobConv.groupId),
      record: hex(bobConv.record()),
      signedLists: [alice, bob, carol].map((p) => hex(p.signedList)),
      withoutPath: hex(withoutPath),
      withPath: hex(withPath),
    };

    dir = tempDir('ghostproof-test-pages-');
    await buildTestPages(dir);
    site = await startStatic(dir);
    browser = await launchChromium();
    const opened = await openPage(browser, `${site.url}/conformance.html`);
    problems = opened.problems;
    await opened.page.waitForFunction(() => typeof window.runConformance === 'function');
    result = await opened.page.evaluate((i) => window.runConformance(i), input);
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes the library self-check in the browser', () => {
    assert.equal(result.selfCheck, 'passed');
  });

  it('refuses a one-member remove without an update path', () => {
    assert.equal(result.withoutPath, 'refused: invalid-commit');
  });

  it('accepts the same remove made with an update path', () => {
    assert.equal(result.withPath, 'commit: member-removed');
  });

  it('control: rc.10 as published accepts the path-less remove', async () => {
    const accepted = await processMessage({
      context: await attackerContext(XWING),
      state: bobBefore,
      message: framedMessage(withoutPath),
    });
    assert.equal(accepted.kind, 'newState');
  });

  it('ran under the web client’s CSP without errors', () => {
    assert.deepEqual(problems.errors, []);
  });
});
