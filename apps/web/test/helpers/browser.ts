// Debian's chromium driven by playwright-core: never a downloaded browser. Each launch gets a
// fresh temporary profile (Playwright creates and removes it); each person is a separate
// browser context, with its own IndexedDB that lasts for the context's lifetime (reloads
// included).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Problems a page reported: uncaught errors, console errors and CSP violations. */
export interface PageProblems {
  readonly errors: string[];
}

/** A new context and page that records every error and CSP violation the page reports. */
export async function openPage(
  browser: Browser,
  url: string,
  options: { permissions?: string[]; initScript?: string } = {},
): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 800 },
    ...(options.permissions ? { permissions: options.permissions } : {}),
  });
  // tsx compiles this test with esbuild's keepNames, which wraps named functions in a
  // `__name()` helper; functions the test sends into the page need that helper there too.
  await context.addInitScript({ content: 'globalThis.__name = (target) => target;' });
  if (options.initScript) await context.addInitScript({ content: options.initScript });
  const page = await context.newPage();
  const problems: PageProblems = { errors: [] };
  page.on('pageerror', (err) => problems.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A refused request (an unknown account's 404) or a WebSocket that cannot connect while
    // offline is the app working, not a problem; anything else is.
    const expected = /^(Failed to load resource|WebSocket connection to .* failed)/;
    if (msg.type() === 'error' && !expected.test(msg.text())) {
      problems.errors.push(`console: ${msg.text()}`);
    }
  });
  await page.goto(url);
  return { context, page, problems };
}
