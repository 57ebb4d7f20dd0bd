// Forward secrecy in memory in chromium: the web client's build of @ghostproof/crypto keeps
// WebCrypto CryptoKeys in its key caches; after a commit is merged none of the path private
// keys it retired is left there, and their arrays are zeroed, while the negative control
// (the same commit merged through ts-mls without the eviction) finds them cached and still
// usable. The flows and expectations are the Node run's (packages/protocol/test/helpers/
// key-retirement*.ts), run here in the page test/pages/key-caches.ts.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { describeKeyRetirement } from '../../../packages/protocol/test/helpers/key-retirement-tests.js';
import { chromiumAvailable, launchChromium, openPage, type PageProblems } from './helpers/browser.js';
import { startStatic, tempDir } from './helpers/front.js';
import { buildTestPages } from './helpers/pages.js';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';
let browser: Browser | undefined;
let site: { url: string; close(): Promise<void> } | undefined;
let dir: string | undefined;
let page: Page;
let problems: PageProblems;

before(async () => {
  if (skip) return;
  dir = tempDir('ghostproof-key-cache-pages-');
  await buildTestPages(dir);
  site = await startStatic(dir);
  browser = await launchChromium();
  ({ page, problems } = await openPage(browser, `${site.url}/key-caches.html`));
  await page.waitForFunction(() => typeof window.keyRetirementFacts === 'function');
});

after(async () => {
  await browser?.close();
  await site?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('key caches in chromium', { skip }, () => {
  it('run on the browser’s own WebCrypto curves, whose keys are the ones cached', async () => {
    assert.equal(
      await page.evaluate(() => window.platformName()),
      'WebCrypto (Ed25519: WebCrypto, X25519: WebCrypto)',
    );
  });
});

describeKeyRetirement(
  'chromium WebCrypto',
  (suite) => page.evaluate((s) => window.keyRetirementFacts(s), suite),
  { skip },
);

describe('key cache pages in chromium', { skip }, () => {
  it('ran under the web client’s CSP without errors', () => {
    assert.deepEqual(problems.errors, []);
  });
});
