// The crypto vectors inside chromium: the browser build of @ghostproof/crypto (WebCrypto, and
// WebCrypto with the @noble/curves fallback), bundled by Vite as the web client bundles it
// and served under the client's CSP, passes Wycheproof (AES-GCM, Ed25519, X25519, HKDF,
// HMAC, ML-KEM-768), the X-Wing draft's vectors and the MLS interoperability vectors that
// exercise a provider; the negative controls in the page show that the checks can fail.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { loadVectorFile } from '@ghostproof/testkit/vectors';
import { chromiumAvailable, launchChromium, openPage, type PageProblems } from './helpers/browser.js';
import { startStatic, tempDir } from './helpers/front.js';
import { buildTestPages } from './helpers/pages.js';
import type { VectorData, VectorGroupResult } from './pages/vectors.js';

const load = (path: string): unknown => loadVectorFile(path);

const WYCHEPROOF = [
  'aes_gcm_test.json',
  'ed25519_test.json',
  'x25519_test.json',
  'hkdf_sha256_test.json',
  'hkdf_sha512_test.json',
  'hmac_sha256_test.json',
  'mlkem_768_test.json',
];
const MLS = [
  'crypto-basics',
  'secret-tree',
  'message-protection',
  'key-schedule',
  'psk_secret',
  'transcript-hashes',
];

/** The fewest cases each group must run (as the Node tests require). */
const MINIMUM: Record<string, number> = {
  'aes-gcm valid': 79,
  'aes-gcm invalid': 54,
  'aes-gcm out of scope': 183,
  'ed25519 valid': 88,
  'ed25519 invalid': 63,
  'x25519 shared secret': 487,
  'x25519 small-order refused': 31,
  'hkdf_sha256_test.json valid': 83,
  'hkdf_sha256_test.json invalid': 3,
  'hkdf_sha512_test.json valid': 80,
  'hkdf_sha512_test.json invalid': 3,
  'hmac-sha256 valid': 66,
  'hmac-sha256 invalid': 108,
  'x-wing': 3,
  'ml-kem-768': 193,
  ...Object.fromEntries(MLS.map((f) => [`mls ${f}`, 1])),
};

describe('crypto vectors in chromium', { skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, () => {
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };
  let dir: string;
  let results: VectorGroupResult[];
  let problems: PageProblems;

  before(async () => {
    dir = tempDir('ghostproof-test-pages-');
    await buildTestPages(dir);
    site = await startStatic(dir);
    browser = await launchChromium();
    const opened = await openPage(browser, `${site.url}/vectors.html`);
    problems = opened.problems;
    const data: VectorData = {
      wycheproof: Object.fromEntries(
        WYCHEPROOF.map((f) => [f, load(`wycheproof/${f}`)]),
      ) as VectorData['wycheproof'],
      xwing: load('xwing/test-vectors.json') as VectorData['xwing'],
      mls: Object.fromEntries(MLS.map((f) => [f, load(`mls/${f}.json`)])) as VectorData['mls'],
    };
    await opened.page.waitForFunction(() => typeof window.runVectors === 'function');
    results = await opened.page.evaluate((d) => window.runVectors(d), data);
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs on the browser’s own WebCrypto curves and on the @noble/curves fallback', () => {
    const platforms = new Set(results.map((r) => r.platform));
    assert.ok(platforms.has('WebCrypto (Ed25519: WebCrypto, X25519: WebCrypto)'), [...platforms].join('; '));
    assert.ok(platforms.has('WebCrypto (Ed25519: noble, X25519: noble)'), [...platforms].join('; '));
  });

  it('passes every case of every group, on each platform', () => {
    const failed = results.filter((r) => r.failed > 0);
    assert.deepEqual(
      failed.map((r) => `${r.group} on ${r.platform}: ${r.failed} failed (${r.failures.join('; ')})`),
      [],
    );
    for (const [group, minimum] of Object.entries(MINIMUM)) {
      const runs = results.filter((r) => r.group === group);
      assert.ok(runs.length > 0, `${group}: not run`);
      for (const r of runs)
        assert.ok(r.passed >= minimum, `${group} on ${r.platform}: ${r.passed} < ${minimum}`);
    }
    const total = results.reduce((sum, r) => sum + r.passed, 0);
    console.log(`# ${total} vector checks passed in chromium across ${results.length} groups`);
  });

  it('catches deliberately broken back ends (negative controls)', () => {
    const controls = results.filter((r) => r.group.startsWith('negative control'));
    assert.equal(controls.length, 3);
    for (const r of controls) {
      assert.equal(r.failed, 0, `${r.group}: ${r.failures.join('; ')}`);
      assert.ok(r.passed >= 1, `${r.group}: nothing checked`);
    }
  });

  it('ran under the web client’s CSP without errors', () => {
    assert.deepEqual(problems.errors, []);
  });
});
