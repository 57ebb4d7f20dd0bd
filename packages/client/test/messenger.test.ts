import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Messenger } from '@ghostproof/client';
import { eventually, person, startServer, type TestServer } from './helpers/world.js';

describe('messenger against a real server', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('1:1 both ways', async () => {
    const alice = await person(server.url, 'alice');
    const bob = await person(server.url, 'bob');
    const id = await alice.direct('bob');
    await alice.sendText(id, 'hello bob');
    const atBob = await eventually(async () => (await bob.messages(id).catch(() => []))[0]);
    assert.equal(atBob.text, 'hello bob');
    assert.equal(atBob.sender.username, 'alice');
    await bob.accept(id);
    await bob.sendText(id, 'hello alice');
    const atAlice = await eventually(async () =>
      (await alice.messages(id)).find((m) => m.text === 'hello alice'),
    );
    assert.equal(atAlice.sender.username, 'bob');
    await close(alice, bob);
  });
});

async function close(...ms: Messenger[]) {
  for (const m of ms) await m.close();
}
