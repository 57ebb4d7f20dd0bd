// `ghostproof serve --store postgres://... --bus nats://...`: the flags that make a node one
// of several.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { serveSettings, UsageError } from '@ghostproof/cli';

describe('serve on PostgreSQL and NATS', () => {
  it('takes the store and bus URLs from flags, else from the environment', () => {
    const none = serveSettings([], {});
    assert.equal(none.options.store, undefined);
    assert.equal(none.options.bus, undefined);
    const env = { store: 'postgres://postgres@127.0.0.1:5432/env', bus: 'nats://127.0.0.1:4222' };
    const fromEnv = serveSettings([], env);
    assert.equal(fromEnv.options.store, env.store);
    assert.equal(fromEnv.options.bus, env.bus);
    const fromFlags = serveSettings(
      ['--store', 'postgresql://u@db:5432/ghostproof', '--bus', 'nats://a:4222,nats://b:4222'],
      env,
    );
    assert.equal(fromFlags.options.store, 'postgresql://u@db:5432/ghostproof');
    assert.equal(fromFlags.options.bus, 'nats://a:4222,nats://b:4222');
  });

  it('refuses other URLs with a usage error naming the flag', () => {
    assert.throws(() => serveSettings(['--store', 'mysql://db/x'], {}), /--store/);
    assert.throws(() => serveSettings(['--bus', 'redis://q:6379'], {}), UsageError);
  });

  it('takes the shared key transparency key file and log name, and refuses a bad name', () => {
    assert.equal(serveSettings([], {}).options.kt, undefined);
    const fromEnv = serveSettings([], { ktKeys: 'secrets/kt.json', ktOrigin: 'chat.example/kt' });
    assert.deepEqual(fromEnv.options.kt, { keyFile: resolve('secrets/kt.json'), origin: 'chat.example/kt' });
    const fromFlags = serveSettings(['--kt-keys', '/run/kt.json'], { ktKeys: 'other.json' });
    assert.deepEqual(fromFlags.options.kt, { keyFile: '/run/kt.json' });
    assert.throws(() => serveSettings(['--kt-origin', 'two words'], {}), /kt.origin/);
  });

  it('takes the NATS subject prefix of the deployment, only with a bus, and refuses a bad one', () => {
    const bus = ['--bus', 'nats://127.0.0.1:4222'];
    assert.equal(
      serveSettings([...bus, '--bus-prefix', 'chat-eu.prod'], {}).options.busSubjectPrefix,
      'chat-eu.prod',
    );
    assert.equal(serveSettings(bus, { busPrefix: 'from-env' }).options.busSubjectPrefix, 'from-env');
    assert.equal(serveSettings(bus, {}).options.busSubjectPrefix, undefined);
    assert.throws(() => serveSettings([...bus, '--bus-prefix', 'a b'], {}), /--bus-prefix/);
    assert.throws(() => serveSettings(['--bus-prefix', 'alone'], {}), /only with --bus/);
  });
});
