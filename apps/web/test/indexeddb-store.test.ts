// The IndexedDB ClientStore in chromium (test/pages/store.ts): round trips of every record
// kind, ordering, expiry, reopening, no plaintext in the database, refusal of changed or moved
// sealed values, and keys that cannot be exported; and the test kit's ClientStore contract,
// which the memory and SQLite stores pass in Node (packages/client/test/store-contract.test.ts).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { clientStoreContract } from '@ghostproof/testkit/client-store-contract';
import { chromiumAvailable, launchChromium, openPage } from './helpers/browser.js';
import { startStatic, tempDir } from './helpers/front.js';
import { buildTestPages } from './helpers/pages.js';
import type { StoreCheck } from './pages/store.js';

describe(
  'IndexedDB client store in chromium',
  { skip: !chromiumAvailable() && 'no /usr/bin/chromium' },
  () => {
    let browser: Browser;
    let site: { url: string; close(): Promise<void> };
    let dir: string;
    let checks: StoreCheck[];
    let contract: StoreCheck[];
    let errors: string[];

    before(async () => {
      dir = tempDir('ghostproof-store-pages-');
      await buildTestPages(dir);
      site = await startStatic(dir);
      browser = await launchChromium();
      const { page, problems } = await openPage(browser, `${site.url}/store.html`);
      await page.waitForFunction(() => typeof window.runStoreChecks === 'function');
      checks = await page.evaluate(() => window.runStoreChecks());
      contract = await page.evaluate(() => window.runStoreContract());
      errors = problems.errors;
    });

    after(async () => {
      await browser?.close();
      await site?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const expected = [
      'identity round trip keeps bytes',
      'key packages count and delete',
      'MLS states put, list, get, delete',
      'messages list per conversation in receive order; expired ones are deleted',
      'conversation infos, outbox, deliveries, contacts, settings and app records',
      'views hear about writes',
      'everything survives closing and reopening',
      'the database holds no names, texts or key bytes in the clear',
      'a changed sealed value is refused',
      'a sealed value moved to another record is refused',
      'the wrapping and naming keys are non-extractable CryptoKeys',
      'destroying the profile deletes the database',
    ];
    for (const name of expected) {
      it(name, () => {
        const check = checks.find((c) => c.name === name);
        assert.ok(check, 'not run');
        assert.equal(check.ok, true, check.detail);
      });
    }

    describe('the ClientStore contract (as the memory and SQLite stores pass it in Node)', () => {
      for (const { name } of clientStoreContract) {
        it(name, () => {
          const check = contract.find((c) => c.name === name);
          assert.ok(check, 'not run');
          assert.equal(check.ok, true, check.detail);
        });
      }
    });

    it('ran every check, without page errors', () => {
      assert.equal(contract.length, clientStoreContract.length);
      assert.equal(checks.length, expected.length);
      assert.deepEqual(errors, []);
    });
  },
);
