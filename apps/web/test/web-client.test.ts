// The web client in Debian's chromium against a real server: two people in two browser
// contexts (alice, bob) and Node users of the SDK (carol, dave, erin; the CLI runs the same
// code) in one world. The steps build on each other, in order, as people would use it.
// Screenshots of the main screens go to apps/web/test-artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Locator, Page } from 'playwright-core';
import { MemoryClientStore, Messenger } from '@ghostproof/client';
import { nodeWebSocket } from '@ghostproof/client/node';
import { createAccount, signDeviceList } from '@ghostproof/protocol';
import { buildWeb } from '../src/build/build.js';
import { chromiumAvailable, launchChromium, openPage, type PageProblems } from './helpers/browser.js';
import { startStack, tempDir, type Stack } from './helpers/front.js';
import { noisePng } from './helpers/png.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const WAIT = 20_000;

async function visible(locator: Locator, timeout = WAIT): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible', timeout });
  return locator.first();
}

async function gone(locator: Locator, timeout = WAIT): Promise<void> {
  await locator.first().waitFor({ state: 'detached', timeout });
}

async function eventually<T>(check: () => Promise<T | undefined | false>, ms = WAIT): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const conversationButton = (page: Page, name: RegExp) =>
  page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name });
/** A message by its own text (not by a quote of it in a reply). */
const messageItem = (page: Page, text: string) =>
  page.locator('li.message').filter({ has: page.locator('p.text', { hasText: text }) });
const composer = (page: Page) => page.getByLabel('Message', { exact: true });

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await visible(messageItem(page, text));
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** Records every desktop notification the page creates (the OS is not asked in a test). */
function recordNotifications() {
  const w = window as unknown as { __notifications: { title: string; body: string }[] };
  w.__notifications = [];
  const Real = window.Notification;
  class Recording extends Real {
    static override get permission() {
      return Real.permission;
    }
    static override requestPermission = () => Real.requestPermission();
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      w.__notifications.push({ title, body: options?.body ?? '' });
    }
  }
  Object.defineProperty(window, 'Notification', { value: Recording, configurable: true });
}

async function nodePerson(stack: Stack, username: string): Promise<Messenger> {
  const m = await Messenger.register(
    { serverUrl: stack.serverUrl, store: new MemoryClientStore(), createSocket: nodeWebSocket },
    username,
  );
  await m.connect();
  return m;
}

describe(
  'web client in chromium against a real server',
  { skip: !chromiumAvailable() && 'no /usr/bin/chromium' },
  () => {
    let stack: Stack;
    let browser: Browser;
    let alice: Page;
    let bob: Page;
    const problems: PageProblems[] = [];
    const node: Messenger[] = [];
    let carol: Messenger;
    let direct = '';
    let group = '';

    before(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      const dist = tempDir('ghostproof-web-dist-');
      try {
        await buildWeb(dist);
        stack = await startStack(dist);
      } finally {
        // The server read the build into memory when it started.
        rmSync(dist, { recursive: true, force: true });
      }
      browser = await launchChromium();
    });

    after(async () => {
      for (const m of node) await m.close();
      await browser?.close();
      await stack?.close();
    });

    it('registers alice and bob, each in their own browser, and signs them in', async () => {
      const a = await openPage(browser, stack.url);
      const b = await openPage(browser, stack.url, { permissions: ['notifications'] });
      await b.context.addInitScript(recordNotifications);
      alice = a.page;
      bob = b.page;
      problems.push(a.problems, b.problems);
      await visible(alice.getByLabel('Username'));
      await shot(alice, '01-register');
      for (const [page, name] of [
        [alice, 'alice'],
        [bob, 'bob'],
      ] as const) {
        await page.getByLabel('Username').fill(name);
        await page.getByRole('button', { name: 'Create account' }).click();
        await visible(page.getByText(`Signed in as ${name}`));
      }
      // bob's notification recorder is installed for the pages it loads from now on.
      await bob.reload();
      await visible(bob.getByText('Signed in as bob'));
    });

    it('a first message is a request; once accepted, both sides chat with receipts, replies, reactions, edits and deletes', async () => {
      await alice.getByRole('button', { name: 'New chat' }).click();
      await alice.getByLabel('Username').fill('bob');
      await alice.getByRole('button', { name: 'Start chat' }).click();
      await visible(alice.getByRole('heading', { name: 'bob' }));
      direct = alice.url().split('#/c/')[1] ?? '';
      assert.match(direct, /^[0-9a-f]+$/);
      await send(alice, 'hello bob');

      // bob: a request from a stranger, with an unread count, until he accepts.
      const request = await visible(conversationButton(bob, /^alice, message request, 1 unread$/));
      await visible(bob.getByRole('heading', { name: 'Message requests' }));
      await request.click();
      await visible(messageItem(bob, 'hello bob'));
      await visible(bob.getByRole('region', { name: 'Message request' }));
      await bob.getByRole('button', { name: 'Accept' }).click();
      await gone(bob.getByRole('region', { name: 'Message request' }));

      // Read on screen: alice sees her message go to "Read".
      await visible(messageItem(alice, 'hello bob').getByLabel('Status: Read'));
      await visible(conversationButton(bob, /^alice$/));

      // Typing, then a reply.
      await composer(bob).pressSequentially('hi al', { delay: 20 });
      await visible(alice.locator('.typing', { hasText: 'bob is typing…' }));
      await composer(bob).fill('');
      await messageItem(bob, 'hello bob').hover();
      await messageItem(bob, 'hello bob')
        .getByRole('button', { name: 'Reply to message from alice' })
        .click();
      await visible(bob.getByText('Replying to alice'));
      await send(bob, 'hi alice');
      const reply = await visible(messageItem(alice, 'hi alice'));
      await visible(reply.getByLabel('In reply to').getByText('hello bob'));
      await gone(alice.locator('.typing', { hasText: 'typing' }));

      // A reaction, an edit and a delete-for-everyone reach the other side.
      await reply.hover();
      await reply.getByRole('button', { name: 'React with 👍' }).click();
      await visible(messageItem(bob, 'hi alice').getByLabel('👍 from alice'));
      const mine = messageItem(alice, 'hello bob');
      await mine.hover();
      await mine.getByRole('button', { name: 'Edit' }).click();
      await composer(alice).fill('hello, bob');
      await composer(alice).press('Enter');
      const edited = await visible(messageItem(bob, 'hello, bob'));
      await visible(edited.getByText('(edited)'));
      await send(alice, 'oops, wrong chat');
      await visible(messageItem(bob, 'oops, wrong chat'));
      const oops = messageItem(alice, 'oops, wrong chat');
      await oops.hover();
      await oops.getByRole('button', { name: 'Delete' }).click();
      await oops.getByRole('button', { name: 'Delete for everyone' }).click();
      await gone(messageItem(bob, 'oops, wrong chat'));
      await gone(messageItem(alice, 'oops, wrong chat'));
      await visible(messageItem(alice, 'hi alice'));
      await shot(alice, '02-chat');
    });

    it('sets a disappearing timer that both sides apply', async () => {
      await alice.getByLabel('Disappearing messages').selectOption('30');
      await eventually(async () => (await bob.getByLabel('Disappearing messages').inputValue()) === '30');
      await send(alice, 'this one vanishes');
      await visible(messageItem(bob, 'this one vanishes').getByText(/disappears at/));
      await alice.getByLabel('Disappearing messages').selectOption('0');
      await eventually(async () => (await bob.getByLabel('Disappearing messages').inputValue()) === '0');
    });

    it('a group of web and Node users: roster events inline, members with admins, an admin added, removal seen by all', async () => {
      carol = await nodePerson(stack, 'carol');
      node.push(carol);
      await alice.getByRole('button', { name: 'New group' }).click();
      await alice.getByLabel('Group name').fill('Reporters');
      await alice.getByLabel('Members (usernames, separated by commas)').fill('bob, carol');
      await alice.getByRole('button', { name: 'Create group' }).click();
      await visible(alice.getByRole('heading', { name: '# Reporters' }));
      group = alice.url().split('#/c/')[1] ?? '';
      await visible(alice.locator('li.roster-event', { hasText: 'alice added bob' }));
      await visible(alice.locator('li.roster-event', { hasText: 'alice added carol' }));

      // bob knows alice: the group is active for him. carol (Node) gets a request and accepts.
      await (await visible(conversationButton(bob, /^Reporters, group/))).click();
      const atCarol = await eventually(async () =>
        (await carol.listConversations()).find((c) => c.id === group && c.name === 'Reporters'),
      );
      assert.equal(atCarol.status, 'request');
      await carol.accept(group);
      await carol.sendText(group, 'hello from node');
      await visible(messageItem(alice, 'hello from node'));
      await visible(messageItem(bob, 'hello from node'));
      await send(bob, 'hi carol, from the browser');
      await eventually(async () =>
        (await carol.messages(group)).find((m) => m.text === 'hi carol, from the browser'),
      );

      await alice.getByRole('button', { name: 'Members', exact: true }).click();
      const panel = alice.getByRole('complementary', { name: 'Members' });
      const aliceRow = await visible(panel.locator('li.member', { hasText: '@alice' }));
      await visible(aliceRow.getByText('admin'));
      // Admins are changed by a commit that every member processes; bob sees it inline.
      await panel.getByRole('button', { name: 'Make bob an admin' }).click();
      await visible(bob.locator('li.roster-event', { hasText: 'alice set the admins to alice, bob' }));
      await visible(panel.locator('li.member', { hasText: '@bob' }).getByText('admin', { exact: true }));
      await visible(panel.locator('li.member', { hasText: '@bob' }));
      await visible(panel.locator('li.member', { hasText: '@carol' }));
      await shot(alice, '03-group-members');
      await panel.getByRole('button', { name: 'Remove carol' }).click();
      await visible(alice.locator('li.roster-event', { hasText: 'alice removed carol' }));
      await visible(bob.locator('li.roster-event', { hasText: 'alice removed carol' }));
      await gone(panel.locator('li.member', { hasText: '@carol' }));
      await eventually(async () => (await carol.conversationInfo(group)).status === 'left');
      // An honest server's routing list matches the roster: no alarm.
      assert.equal(await alice.locator('.banner.alarm').count(), 0);
    });

    it('raises an alarm banner when the server delivers a group to a mailbox not on the roster', async () => {
      stack.addGhostToRoutingLists({ username: 'mallory', deviceId: 1 });
      const panel = alice.getByRole('complementary', { name: 'Members' });
      await panel.getByLabel('Add members (usernames)').fill('carol');
      await panel.getByRole('button', { name: 'Add', exact: true }).click();
      await visible(alice.locator('li.roster-event', { hasText: 'alice added carol' }).nth(1));
      const alarm = await visible(alice.locator('.banner.alarm'));
      assert.match(
        (await alarm.textContent()) ?? '',
        /also delivers to mallory \(device 1\), not on the roster/,
      );
      await shot(alice, '04-ghost-alarm');
      stack.addGhostToRoutingLists(undefined);
      await alarm.getByRole('button', { name: 'Dismiss' }).click();
      await gone(alice.locator('.banner.alarm'));
      await alice.getByRole('button', { name: 'Members', exact: true }).click();
    });

    it('sends an image with upload progress; the other side downloads, checks and previews it', async () => {
      await conversationButton(alice, /^bob/).click();
      await conversationButton(bob, /^alice/).click();
      for (const page of [alice, bob]) {
        await page.evaluate(() => {
          const w = window as unknown as { __progress: string[] };
          w.__progress = [];
          new MutationObserver(() => {
            for (const p of Array.from(document.querySelectorAll('progress'))) {
              const label = p.getAttribute('aria-label') ?? '';
              if (!w.__progress.includes(label)) w.__progress.push(label);
            }
          }).observe(document.body, { subtree: true, childList: true, attributes: true });
        });
      }
      const png = noisePng(600, 600);
      await alice
        .getByLabel('Attach a file')
        .setInputFiles({ name: 'noise.png', mimeType: 'image/png', buffer: png });
      const image = await visible(bob.getByRole('img', { name: 'Image: noise.png' }), 30_000);
      const width = await image.evaluate((img: HTMLImageElement) =>
        img.decode().then(() => img.naturalWidth),
      );
      assert.equal(width, 600);
      await visible(alice.getByRole('img', { name: 'Image: noise.png' }));
      const seen = (page: Page) =>
        page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
      assert.ok((await seen(alice)).includes('Upload progress'), 'alice saw upload progress');
      assert.ok((await seen(bob)).includes('Downloading noise.png'), 'bob saw download progress');
      await shot(bob, '05-attachment');
    });

    it('reloads and continues from the IndexedDB state, which holds no plaintext and no extractable key', async () => {
      await bob.reload();
      await visible(bob.getByText('Signed in as bob'));
      await visible(messageItem(bob, 'hello, bob'));
      await visible(bob.getByRole('img', { name: 'Image: noise.png' }));
      await send(alice, 'after the reload');
      await visible(messageItem(bob, 'after the reload'));
      await send(bob, 'still here');
      await visible(messageItem(alice, 'still here'));

      const needles = ['hello', 'alice', 'bob', 'carol', 'Reporters', 'still here', 'noise.png'];
      const report = await bob.evaluate(async (words: string[]) => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const req = indexedDB.open('ghostproof');
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(new Error('open failed'));
        });
        const all = <T>(store: string) =>
          new Promise<T[]>((resolve) => {
            const req = db.transaction(store).objectStore(store).getAll();
            req.onsuccess = () => resolve(req.result as T[]);
          });
        const records = await all<Record<string, unknown>>('records');
        const keys = await all<{ wrap: CryptoKey; names: CryptoKey }>('keys');
        const found: string[] = [];
        for (const record of records) {
          for (const value of Object.values(record)) {
            const text =
              value instanceof ArrayBuffer
                ? Array.from(new Uint8Array(value), (b) => String.fromCharCode(b)).join('')
                : JSON.stringify(value);
            for (const w of words) if (text.includes(w)) found.push(w);
          }
        }
        let exported = false;
        try {
          await crypto.subtle.exportKey('raw', keys[0]!.wrap);
          exported = true;
        } catch {
          // expected: the key is not extractable
        }
        db.close();
        return {
          records: records.length,
          kinds: [...new Set(records.map((r) => r.kind))].sort(),
          sealed: records.every((r) => r.value instanceof ArrayBuffer),
          found,
          keys: keys.length,
          extractable: keys.some((k) => k.wrap.extractable || k.names.extractable),
          exported,
        };
      }, needles);
      assert.ok(report.records > 20, `${report.records} records`);
      for (const kind of ['identity', 'keypackage', 'mls', 'info', 'message', 'contact', 'app']) {
        assert.ok(report.kinds.includes(kind), `no ${kind} record`);
      }
      assert.equal(report.sealed, true);
      assert.deepEqual(report.found, [], 'plaintext found in IndexedDB');
      assert.equal(report.keys, 1);
      assert.equal(report.extractable, false);
      assert.equal(report.exported, false);
    });

    it('message requests from strangers: block one, decline another; nothing more arrives from them', async () => {
      const [dave, erin] = [await nodePerson(stack, 'dave'), await nodePerson(stack, 'erin')];
      node.push(dave, erin);
      const fromDave = await dave.direct('bob');
      await dave.sendText(fromDave, 'hi bob, I am dave');
      const fromErin = await erin.direct('bob');
      await erin.sendText(fromErin, 'hi bob, erin here');
      await (await visible(conversationButton(bob, /^dave, message request/))).click();
      await visible(messageItem(bob, 'hi bob, I am dave'));
      await shot(bob, '06-message-request');
      await bob.getByRole('button', { name: 'Block dave' }).click();
      await gone(conversationButton(bob, /^dave/));
      await (await visible(conversationButton(bob, /^erin, message request/))).click();
      await bob.getByRole('button', { name: 'Decline' }).click();
      await gone(conversationButton(bob, /^erin/));
      await dave.sendText(fromDave, 'are you there?').catch(() => undefined);
      const again = await dave.direct('bob').catch(() => undefined);
      if (again && again !== fromDave) await dave.sendText(again, 'hello again').catch(() => undefined);
      await dave.idle();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await conversationButton(bob, /^dave/).count(), 0);
      assert.equal(await bob.getByRole('heading', { name: 'Message requests' }).count(), 0);
    });

    it('shows an offline banner, keeps what is sent meanwhile, and delivers it after reconnecting', async () => {
      await conversationButton(alice, /^bob/).click();
      await conversationButton(bob, /^alice/).click();
      stack.goOffline();
      const banner = await visible(alice.getByRole('status').filter({ hasText: 'Offline — reconnecting' }));
      await composer(alice).fill('written offline');
      await composer(alice).press('Enter');
      await visible(messageItem(alice, 'written offline').getByLabel('Status: Sending…'));
      await shot(alice, '07-offline');
      stack.goOnline();
      await gone(banner, 40_000);
      await visible(messageItem(bob, 'written offline'), 30_000);
    });

    it('notifies a person of a message in another conversation, naming the sender only', async () => {
      await bob
        .getByRole('navigation', { name: 'Actions' })
        .getByRole('button', { name: 'Settings' })
        .click();
      await visible(bob.getByText('Desktop notifications are on'));
      const recorded = () =>
        bob.evaluate(
          () => (window as unknown as { __notifications: { title: string; body: string }[] }).__notifications,
        );
      const before = (await recorded()).length;
      await send(alice, 'ping for a notification');
      const notes = await eventually(async () => {
        const n = await recorded();
        return n.length > before ? n : undefined;
      });
      assert.deepEqual(notes.slice(before), [{ title: 'Ghostproof', body: 'New message from alice' }]);
    });

    it('moves between conversations with the keyboard', async () => {
      const buttons = alice.getByRole('navigation', { name: 'Conversations' }).locator('button.conversation');
      await buttons.first().focus();
      const before = await alice.evaluate(() => document.activeElement?.getAttribute('aria-label'));
      await alice.keyboard.press('ArrowDown');
      const afterDown = await alice.evaluate(() => document.activeElement?.getAttribute('aria-label'));
      assert.notEqual(afterDown, before);
      await alice.keyboard.press('Enter');
      await eventually(async () => alice.url().includes('#/c/'));
      await alice.keyboard.press('Home');
      assert.equal(await alice.evaluate(() => document.activeElement?.getAttribute('aria-label')), before);
    });

    it('safety numbers match on both sides; a key substituted in the log warns in every conversation and alarms its owner', async () => {
      await conversationButton(alice, /^bob/).click();
      await alice.getByRole('button', { name: 'Safety number', exact: true }).click();
      const digits = await visible(alice.getByLabel('Safety number digits'));
      await visible(alice.getByRole('img', { name: 'QR code of the safety number with bob' }));
      const aliceDigits = (await digits.locator('span').allTextContents()).join('');
      assert.match(aliceDigits, /^\d{60}$/);
      await conversationButton(bob, /^alice/).click();
      await bob.getByRole('button', { name: 'Safety number', exact: true }).click();
      const bobDigits = (
        await (await visible(bob.getByLabel('Safety number digits'))).locator('span').allTextContents()
      ).join('');
      assert.equal(bobDigits, aliceDigits);
      await alice.getByRole('button', { name: 'Mark as verified' }).click();
      await visible(alice.getByText('You have verified bob.'));
      await shot(alice, '08-safety-number');

      // A compromised server substitutes bob's identity key. Clients take device lists only as
      // key transparency proves them, so the substitution has to go into the log: the server's
      // own log operator appends a list for bob signed by another key, as a compelled operator
      // would. alice sees the new key; bob's device, monitoring his account, sees the list.
      const impostor = await createAccount('bob');
      const forged = await signDeviceList(impostor.account, { ...impostor.deviceList.list, sequence: 2n });
      const kt = stack.server.kt;
      assert.ok(kt, 'the server runs key transparency');
      await kt.operator.append('bob', forged.signed);
      await kt.publish();
      await alice.evaluate((id) => (location.hash = `#/c/${id}`), direct);
      await alice.reload();
      const warning = await visible(
        alice.locator('.banner.identity', { hasText: 'bob’s safety number changed' }),
      );
      assert.match((await warning.textContent()) ?? '', /sending here is paused/);
      await shot(alice, '09-identity-changed');
      await composer(alice).fill('is that you?');
      await composer(alice).press('Enter');
      await visible(
        alice.getByText('A verified contact’s safety number changed: acknowledge it before sending.'),
      );
      await conversationButton(alice, /^Reporters, group/).click();
      await visible(alice.locator('.banner.identity', { hasText: 'bob’s safety number changed' }));
      await alice.getByRole('button', { name: 'View safety number' }).click();
      const changed = (
        await (await visible(alice.getByLabel('Safety number digits'))).locator('span').allTextContents()
      ).join('');
      assert.notEqual(changed, aliceDigits);
      await alice.getByRole('button', { name: 'Acknowledge the new number' }).click();
      await visible(alice.getByText('bob is not verified.'));
      await conversationButton(alice, /^Reporters, group/).click();
      await visible(messageItem(alice, 'hello from node'));
      assert.equal(await alice.locator('.banner.identity').count(), 0);

      // bob's own device monitors his account in the log: the list he did not sign alarms.
      await bob.reload();
      await visible(
        bob.locator('.banner.alarm', { hasText: 'A device you did not link appeared on your account' }),
      );
      await shot(bob, '10-unknown-device-alarm');
    });

    it('a message sent with the 30-second timer has disappeared from both sides', async () => {
      await conversationButton(alice, /^bob/).click();
      await conversationButton(bob, /^alice/).click();
      await visible(messageItem(bob, 'after the reload'));
      await gone(messageItem(bob, 'this one vanishes'), 40_000);
      await gone(messageItem(alice, 'this one vanishes'), 40_000);
    });

    it('a display name reaches the members panel and the conversation list, always beside the username', async () => {
      await alice
        .getByRole('navigation', { name: 'Actions' })
        .getByRole('button', { name: 'Settings' })
        .click();
      await alice.getByLabel('Display name (sent encrypted to your conversations)').fill('Alice Liddell');
      await alice.getByRole('button', { name: 'Save' }).click();
      await visible(alice.getByText('Sent to your conversations.'));
      await visible(conversationButton(bob, /^Alice Liddell \(alice\)/));
      await conversationButton(bob, /^Reporters, group/).click();
      await bob.getByRole('button', { name: 'Members', exact: true }).click();
      const row = await visible(
        bob.getByRole('complementary', { name: 'Members' }).locator('li.member', { hasText: '@alice' }),
      );
      await visible(row.getByText('Alice Liddell'));
      await visible(row.getByText('admin'));
    });

    it('ran without page errors or Content-Security-Policy violations', () => {
      assert.deepEqual(
        problems.flatMap((p) => p.errors),
        [],
      );
    });
  },
);
