// Disappearing messages hold for a member added after the timer was set, in the browser: the
// joiner runs in chromium with the web client's IndexedDB store (test/pages/joiner.ts, built
// by Vite as the web client is) against a real server; alice and bob are Node users of the
// SDK. After 61 s on the joiner's clock its own sweep deletes the records, which the test
// reads in the raw IndexedDB database. The negative control runs the same story on clients
// that keep the timer in their own view only (as before): the joiner keeps the message.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { MemoryClientStore, Messenger, type UnsafeTestingDisabledDefences } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { chromiumAvailable, launchChromium, openPage, type PageProblems } from './helpers/browser.js';
import { startPagesWithServer, tempDir } from './helpers/front.js';
import { buildTestPages } from './helpers/pages.js';
import type { StoredView } from './pages/joiner.js';

async function eventually<T>(check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe(
  'disappearing messages for a joiner with an IndexedDB profile, in chromium',
  { skip: !chromiumAvailable() && 'no /usr/bin/chromium' },
  () => {
    let dir: string;
    let stack: { url: string; serverUrl: string; close(): Promise<void> };
    let browser: Browser;
    const node: Messenger[] = [];
    const problems: PageProblems[] = [];

    before(async () => {
      dir = tempDir('ghostproof-joiner-pages-');
      await buildTestPages(dir, ['joiner']);
      stack = await startPagesWithServer(dir);
      browser = await launchChromium();
    });

    after(async () => {
      for (const m of node) await m.close();
      await browser?.close();
      await stack?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function nodePerson(username: string, off: UnsafeTestingDisabledDefences): Promise<Messenger> {
      const m = await Messenger.register(
        {
          serverUrl: stack.serverUrl,
          store: new MemoryClientStore(),
          createSocket: nodeWebSocket,
          ...(Object.keys(off).length > 0 ? { unsafeTestingDisableDefences: off } : {}),
        },
        username,
      );
      await m.connect();
      node.push(m);
      return m;
    }

    /**
     * alice sets a 60 s timer in a group with bob, adds the joiner (in the page), and alice
     * and bob each send; returns the page, the group and the two messages as the joiner
     * stored them.
     */
    async function story(prefix: string, off: UnsafeTestingDisabledDefences) {
      const alice = await nodePerson(`${prefix}-alice`, off);
      const bob = await nodePerson(`${prefix}-bob`, off);
      const joiner = `${prefix}-carol`;
      const opened = await openPage(browser, `${stack.url}/joiner.html`);
      problems.push(opened.problems);
      const page: Page = opened.page;
      await page.waitForFunction(() => typeof window.joiner === 'object');
      await page.evaluate(([name, o]) => window.joiner.register(name, o), [joiner, off] as const);
      const id = await alice.createGroup('timed', [bob.username]);
      await eventually(async () => (await bob.conversationInfo(id).catch(() => undefined)) ?? undefined);
      await bob.accept(id);
      await alice.setDisappearing(id, 60);
      await eventually(async () => (await bob.conversationInfo(id)).disappearingSeconds === 60);
      await alice.addMembers(id, [joiner]);
      const timer = await eventually(async () => {
        const seconds = await page.evaluate((g) => window.joiner.joined(g), id);
        return seconds === undefined ? undefined : { seconds };
      });
      await page.evaluate((g) => window.joiner.accept(g), id);
      await alice.sendText(id, 'from alice, for a minute');
      await bob.sendText(id, 'from bob, for a minute');
      const stored: StoredView[] = await eventually(async () => {
        const messages = await page.evaluate((g) => window.joiner.stored(g), id);
        return messages.length === 2 ? messages : undefined;
      });
      const present = async () => {
        const found = [];
        for (const m of stored) {
          found.push(
            await page.evaluate(([g, mid]) => window.joiner.recordPresent(g, mid), [id, m.id] as const),
          );
        }
        return found;
      };
      return { page, id, timer: timer.seconds, stored, present };
    }

    it('the joiner’s own sweep deletes the records from IndexedDB 61 s later, with nothing listing messages', async () => {
      const { page, id, timer, stored, present } = await story('idb', {});
      assert.equal(timer, 60, 'the timer came with the Welcome');
      for (const m of stored) assert.ok(m.expiresAt > 0);
      assert.deepEqual(
        await present(),
        [true, true],
        'the records are there before the timer (positive control)',
      );
      const swept = page.evaluate(() => window.joiner.nextExpiry(10_000));
      await page.evaluate(() => window.joiner.advanceClock(61_000));
      assert.ok((await swept) >= 2);
      assert.deepEqual(await present(), [false, false], 'gone from the IndexedDB database');
      assert.deepEqual(await page.evaluate((g) => window.joiner.stored(g), id), []);
      assert.deepEqual(await page.evaluate((g) => window.joiner.texts(g), id), []);
    });

    it('negative control: with the timer only in each client’s own view (as before), the joiner still holds them after 61 s', async () => {
      const { page, id, timer, stored, present } = await story('old', { sharedDisappearingTimer: true });
      assert.equal(timer, 0, 'the joiner never saw the timer message');
      for (const m of stored) assert.equal(m.expiresAt, 0);
      await page.evaluate(() => window.joiner.advanceClock(61_000));
      assert.equal(await page.evaluate(() => window.joiner.sweep()), 0);
      assert.deepEqual(await present(), [true, true], 'still in the IndexedDB database');
      assert.deepEqual((await page.evaluate((g) => window.joiner.texts(g), id)).sort(), [
        'from alice, for a minute',
        'from bob, for a minute',
      ]);
    });

    it('ran without page errors or Content-Security-Policy violations', () => {
      for (const p of problems) assert.deepEqual(p.errors, []);
    });
  },
);
