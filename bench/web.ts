// bench:web — the web client in Debian's chromium, served by a real server on this machine
// (gzip'd at zlib's default level, with its CSP and cache headers) through the test front:
// - the JavaScript the browser transfers for the first screen (the register form of a new
//   profile, and the open conversation of a signed-in one), as the page's resource timing
//   reports it: encoded (gzip) body bytes of every script whose fetch started before the
//   screen showed (the rest of the client is fetched after the register form appears);
// - the time from page load (navigation start) to the first message rendered, in two cases:
//   a reload with the conversation already in IndexedDB, and a new page whose message waits
//   on the server (sign-in, key transparency checks, delivery, MLS decryption, render); each
//   with the HTTP cache as the server sets it and with the cache disabled.
// Medians over RUNS loads each.
import { cpus } from 'node:os';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { MemoryClientStore, Messenger } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { buildWeb } from '../apps/web/src/build/build.js';
import { launchChromium, openPage } from '../apps/web/test/helpers/browser.js';
import { startStack, tempDir } from '../apps/web/test/helpers/front.js';
import { median, round, writeResults } from './stats.js';

const RUNS = Number(process.env.WEB_RUNS ?? 7);
const WAIT = 30_000;

/** Records, from document start, when the register form and each message text first appear. */
const RECORD_SCREENS = `
  window.__messageTimes = {};
  window.__registerShownAt = undefined;
  new MutationObserver(() => {
    if (window.__registerShownAt === undefined && document.getElementById('register-username')) {
      window.__registerShownAt = performance.now();
    }
    for (const p of document.querySelectorAll('li.message p.text')) {
      const text = p.textContent;
      if (!(text in window.__messageTimes)) window.__messageTimes[text] = performance.now();
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
`;

interface ScriptBytes {
  files: number;
  encoded: number;
  decoded: number;
}

/** Scripts whose fetch started before `shownAt` (ms after navigation start): what that screen needed. */
async function scriptBytes(page: Page, shownAt: number): Promise<ScriptBytes> {
  return page.evaluate((before) => {
    const scripts = performance
      .getEntriesByType('resource')
      .filter((e): e is PerformanceResourceTiming => e instanceof PerformanceResourceTiming)
      .filter((e) => new URL(e.name).pathname.endsWith('.js') && e.startTime < before);
    return {
      files: scripts.length,
      encoded: scripts.reduce((sum, e) => sum + e.encodedBodySize, 0),
      decoded: scripts.reduce((sum, e) => sum + e.decodedBodySize, 0),
    };
  }, shownAt);
}

async function messageShownAt(page: Page, text: string): Promise<number> {
  await page.locator('li.message p.text', { hasText: text }).first().waitFor({ timeout: WAIT });
  return page.evaluate(
    (t) => (window as unknown as { __messageTimes: Record<string, number> }).__messageTimes[t] ?? NaN,
    text,
  );
}

async function main(): Promise<void> {
  const dist = tempDir('ghostproof-bench-web-');
  const manifest = await buildWeb(dist);
  const stack = await startStack(dist);
  const browser = await launchChromium();
  const alice = await Messenger.register(
    { serverUrl: stack.serverUrl, store: new MemoryClientStore(), createSocket: nodeWebSocket },
    'alice',
  );
  await alice.connect();
  try {
    // First screen of a new profile: the register form.
    const registerRuns: ScriptBytes[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { context, page } = await openPage(browser, stack.url, { initScript: RECORD_SCREENS });
      await page.getByLabel('Username').waitFor({ timeout: WAIT });
      const shownAt = await page.evaluate(
        () => (window as unknown as { __registerShownAt: number }).__registerShownAt,
      );
      registerRuns.push(await scriptBytes(page, shownAt));
      await context.close();
    }

    // bob registers in the browser and accepts alice's conversation once.
    const { context, page } = await openPage(browser, stack.url, { initScript: RECORD_SCREENS });
    await page.getByLabel('Username').fill('bob');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Signed in as bob').waitFor({ timeout: WAIT });
    const id = await alice.direct('bob');
    await alice.sendText(id, 'hello bob');
    await page.getByRole('button', { name: /^alice/ }).click();
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.locator('li.message p.text', { hasText: 'hello bob' }).waitFor({ timeout: WAIT });
    const url = page.url();

    // The HTTP cache decides how much script a load fetches: each case is measured with the
    // cache as the server sets it (warm: assets immutable, index.html revalidated) and with
    // the cache disabled (cold: a first visit, or a cleared cache).
    const setCache = async (target: Page, cold: boolean) => {
      const cdp = await context.newCDPSession(target);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: cold });
    };

    // Reload: the conversation is on screen from IndexedDB.
    const fromStore = { warm: [] as number[], cold: [] as number[] };
    const signedIn: ScriptBytes[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const cold of [false, true]) {
        await setCache(page, cold);
        await page.reload();
        const shownAt = await messageShownAt(page, 'hello bob');
        fromStore[cold ? 'cold' : 'warm'].push(shownAt);
        if (cold) signedIn.push(await scriptBytes(page, shownAt));
      }
    }

    // A message that waits on the server while bob's page is closed.
    await page.close();
    const fromServer = { warm: [] as number[], cold: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      for (const cold of [false, true]) {
        const text = `waiting ${i} ${cold ? 'cold' : 'warm'}`;
        await alice.sendText(id, text);
        const fresh = await context.newPage();
        await setCache(fresh, cold);
        await fresh.goto(url);
        fromServer[cold ? 'cold' : 'warm'].push(await messageShownAt(fresh, text));
        await fresh.close();
      }
    }

    const first = (runs: ScriptBytes[]) => ({
      gzip_bytes: median(runs.map((r) => r.encoded)),
      uncompressed_bytes: median(runs.map((r) => r.decoded)),
      files: median(runs.map((r) => r.files)),
    });
    const results = {
      first_screen_js: { register: first(registerRuns), conversation: first(signedIn) },
      first_message_ms: {
        from_indexeddb_after_reload: {
          warm_cache: round(median(fromStore.warm), 0),
          cold_cache: round(median(fromStore.cold), 0),
        },
        waiting_on_server_new_page: {
          warm_cache: round(median(fromServer.warm), 0),
          cold_cache: round(median(fromServer.cold), 0),
        },
      },
      details: {
        runs: RUNS,
        from_indexeddb_runs_ms: {
          warm: fromStore.warm.map((v) => round(v, 0)),
          cold: fromStore.cold.map((v) => round(v, 0)),
        },
        waiting_on_server_runs_ms: {
          warm: fromServer.warm.map((v) => round(v, 0)),
          cold: fromServer.cold.map((v) => round(v, 0)),
        },
        bundle_sha256: manifest.bundleSha256,
        bundle_files: Object.keys(manifest.files).length,
        chromium: browser.version(),
        node: process.version,
        cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
        gzip: 'zlib default level (6)',
      },
    };
    console.log(JSON.stringify(results, null, 2));
    console.log(`written to ${writeResults('web', results)}`);
    await context.close();
  } finally {
    // The server holds the build in memory: the directory can go first, whatever fails after.
    rmSync(dist, { recursive: true, force: true });
    await alice.close().catch(() => undefined);
    await browser.close().catch(() => undefined);
    await stack.close();
  }
}

await main();
