// The test kit's own promises: a wait fails loudly naming what it awaited and never reads an
// error as "nothing yet"; hex refuses what is not hex; an attack declaration must give exactly
// one verdict per run and is listed in the registry; a test server captures its logs, keeps
// its data across a restart and removes it on stop.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  attacksWithoutControl,
  attackWithControl,
  call,
  eventually,
  fromHex,
  registeredAttacks,
  startTestServer,
  TestAccount,
  toHex,
} from '@ghostproof/testkit';
import { routes } from '@ghostproof/api';

describe('eventually', () => {
  it('resolves with the first value the probe gives', async () => {
    let n = 0;
    assert.equal(await eventually('the third poll', () => (++n >= 3 ? n : undefined)), 3);
  });

  it('fails at its deadline naming what it waited for', async () => {
    await assert.rejects(
      eventually('a message that never comes', () => false, 60),
      /waiting for a message that never comes/,
    );
  });

  it('names the probe by its source when given no description', async () => {
    await assert.rejects(
      eventually(() => undefined, 60),
      /waiting for \(\)\s*=>/,
    );
  });

  it('fails at once with the error a probe throws, instead of waiting it out', async () => {
    const started = Date.now();
    await assert.rejects(
      eventually('anything', () => {
        throw new Error('the store is closed');
      }),
      /the store is closed/,
    );
    assert.ok(Date.now() - started < 1000);
  });
});

describe('hex', () => {
  it('round-trips bytes and refuses odd lengths and non-hex digits', () => {
    assert.deepEqual(fromHex('00ff10'), Uint8Array.from([0, 255, 16]));
    assert.equal(toHex(Uint8Array.from([0, 255, 16])), '00ff10');
    assert.throws(() => fromHex('abc'), TypeError);
    assert.throws(() => fromHex('zz'), TypeError);
  });
});

describe('attackWithControl', () => {
  const verdicts: string[] = [];
  attackWithControl({
    caught: 'a probe attack is caught with the defence on',
    control: 'a probe attack succeeds with the defence off (negative control)',
    run: async ({ verdict }) => {
      await verdict({ caught: () => verdicts.push('caught'), succeeded: () => verdicts.push('succeeded') });
    },
  });

  it('ran each half of the verdict once, and lists the pair in the registry', () => {
    assert.deepEqual(verdicts, ['caught', 'succeeded']);
    assert.ok(registeredAttacks().some((a) => a.caught === 'a probe attack is caught with the defence on'));
    assert.deepEqual(
      attacksWithoutControl(['a probe attack is caught with the defence on', 'an attack with no control']),
      ['an attack with no control'],
    );
  });
});

describe('startTestServer', () => {
  it('captures the logs, keeps the data across a restart and removes it on stop', async () => {
    const server = await startTestServer();
    try {
      const account = await (await TestAccount.create(server.url)).register();
      assert.ok(server.logs.length > 0, 'the server logged something');
      await server.restart();
      const challenge = await call(server.url, routes.challenge, undefined);
      assert.ok(challenge.serverNonce.length > 0);
      await account.signIn(); // the account outlived the restart
    } finally {
      await server.stop();
    }
    assert.equal(existsSync(server.dataDir), false);
  });
});
