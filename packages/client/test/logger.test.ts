// The client's log records carry no user data: an error is reduced to its class and stable
// code, never its message (which may quote a username), and a failing sink breaks nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientError, createLogger, type LogRecord } from '@ghostproof/client';
import { errorFields } from '../src/logger.js';

describe('client logger', () => {
  it('hands records with scope, level and event to the sink', () => {
    const records: LogRecord[] = [];
    const log = createLogger('client:test', (record) => records.push(record));
    log.info('step-deferred', { count: 2 });
    log.error('bug');
    assert.deepEqual(records, [
      { level: 'info', scope: 'client:test', event: 'step-deferred', fields: { count: 2 } },
      { level: 'error', scope: 'client:test', event: 'bug', fields: {} },
    ]);
  });

  it("never logs an error's message, which may hold a username", () => {
    const fields = errorFields(new ClientError('unknown-user', 'no such account: alice'));
    assert.deepEqual(fields, { error: 'ClientError', code: 'unknown-user' });
    assert.ok(!JSON.stringify(fields).includes('alice'));
    assert.deepEqual(errorFields('alice'), { error: 'string' });
  });

  it('keeps working when the sink throws', () => {
    const log = createLogger('client:test', () => {
      throw new Error('sink down');
    });
    assert.doesNotThrow(() => log.warn('anything'));
  });
});
