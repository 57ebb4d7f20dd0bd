// Post-compromise security in practice (DESIGN.md): every device commits a self-update in each
// conversation at least every 7 days or 1,000 sent messages, whichever comes first. Tested
// with an injected clock against a real server; the epoch every member sees moves on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  MemoryClientStore,
  Messenger,
  SELF_UPDATE_INTERVAL_MS,
  SELF_UPDATE_MESSAGES,
} from '@ghostproof/client';
import {
  eventually,
  fastKeyTransparency,
  messengerOptions as options,
  registerPerson as person,
  startTestServer,
  type TestServer,
} from '@ghostproof/testkit';

describe('self-updates', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ kt: fastKeyTransparency });
  });
  after(async () => {
    await server.stop();
  });

  it('a device idle for 7 days commits an update when it next connects; its peer follows', async () => {
    let now = Date.now();
    const store = new MemoryClientStore();
    const alice = await Messenger.register(options(server.url, store, { clock: () => now }), 'alice');
    await alice.connect();
    const bob = await person(server.url, 'bob');
    const id = await alice.direct('bob');
    await alice.sendText(id, 'hello');
    await eventually(async () => ((await bob.messages(id).catch(() => [])).length === 1 ? true : undefined));
    const before = await alice.groupCode(id);
    await alice.close();
    // Six days later nothing is due; a week later it is, on connecting.
    now += SELF_UPDATE_INTERVAL_MS - 24 * 3600 * 1000;
    const sixDays = await Messenger.open(options(server.url, store, { clock: () => now }));
    await sixDays.connect();
    await sixDays.selfUpdateDue();
    assert.equal(await sixDays.groupCode(id), before);
    await sixDays.close();
    now += 24 * 3600 * 1000;
    const again = await Messenger.open(options(server.url, store, { clock: () => now }));
    await again.connect();
    const after = await eventually(async () => {
      const code = await again.groupCode(id);
      return code !== before ? code : undefined;
    });
    await eventually(async () => ((await bob.groupCode(id)) === after ? true : undefined));
    await again.close();
    await bob.close();
  });

  it(`the ${SELF_UPDATE_MESSAGES}th message a device sends is followed by an update, through the send limit`, async () => {
    // The server's default limit (600 sends per device per 10 s) is hit on the way: rate-limited
    // sends stay in the outbox and go out later, nothing is dropped.
    const carol = await person(server.url, 'carol');
    const dave = await person(server.url, 'dave');
    let typingSeen = 0;
    dave.on('typing', () => typingSeen++);
    try {
      const id = await carol.direct('dave');
      const before = await carol.groupCode(id);
      for (let i = 1; i < SELF_UPDATE_MESSAGES; i++) await carol.typing(id, i % 2 === 0);
      assert.equal(await carol.groupCode(id), before, 'no update before the threshold');
      await carol.typing(id, false);
      // The update follows the threshold message (started, not awaited, by the send).
      await eventually(async () => ((await carol.groupCode(id)) !== before ? true : undefined), 30_000);
      await eventually(async () =>
        (await carol.conversationInfo(id)).sentSinceUpdate === 0 ? true : undefined,
      );
      await eventually(async () => ((await carol.pendingOutbox()) === 0 ? true : undefined), 30_000);
      // Every one of them reached dave, none was dropped at the limit.
      await eventually(() => (typingSeen === SELF_UPDATE_MESSAGES ? true : undefined), 30_000);
    } finally {
      await carol.close();
      await dave.close();
    }
  });
});
