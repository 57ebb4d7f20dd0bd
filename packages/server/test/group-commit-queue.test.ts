// The group-commit queue both storage adapters use: "accepted" must mean "stored", so a write
// settles only after its batch committed, a failed batch fails every write in it, and close()
// refuses new writes at once while the queued ones land.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '@ghostproof/api';
import { GroupCommitQueue, type Outcome } from '../src/storage/group-commit-queue.js';

/** A batch runner whose batches commit only when the test says so. */
function gatedRunner() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const runBatch = async (writes: readonly number[]): Promise<Outcome[]> => {
    batches.push([...writes]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return writes.map((w) =>
      w < 0 ? { ok: false, error: new ApiError('conflict', 'refused') } : { ok: true, value: w * 10 },
    );
  };
  const commitNext = async () => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    gates.shift()!();
  };
  return { batches, runBatch, commitNext };
}

describe('group-commit queue', () => {
  it('settles no write before its batch committed, and each with its own outcome', async () => {
    const runner = gatedRunner();
    const queue = new GroupCommitQueue<number>({ runBatch: runner.runBatch });
    const settled: string[] = [];
    const writes = [1, -1, 2].map((w) =>
      queue.push<number>(w).then(
        (v) => settled.push(`${w}:${v}`),
        (e: unknown) => settled.push(`${w}:${ApiError.is(e) ? e.code : 'other'}`),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(runner.batches, [[1, -1, 2]], 'one tick is one batch');
    assert.deepEqual(settled, [], 'nothing is accepted while the batch has not committed');
    await runner.commitNext();
    await Promise.all(writes);
    assert.deepEqual(settled, ['1:10', '-1:conflict', '2:20']);
  });

  it('fails every write of a batch whose transaction did not commit', async () => {
    const failure = new Error('disk full');
    const queue = new GroupCommitQueue<number>({
      runBatch: () => {
        throw failure;
      },
    });
    const results = await Promise.allSettled([queue.push(1), queue.push(2)]);
    assert.deepEqual(
      results.map((r): unknown => (r.status === 'rejected' ? r.reason : r.value)),
      [failure, failure],
    );
  });

  it('forms the next batch from writes that arrive while one is in flight', async () => {
    const runner = gatedRunner();
    const queue = new GroupCommitQueue<number>({ runBatch: runner.runBatch });
    const first = queue.push(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = queue.push(2);
    const third = queue.push(3);
    await runner.commitNext();
    assert.equal(await first, 10);
    await runner.commitNext();
    assert.deepEqual(await Promise.all([second, third]), [20, 30]);
    assert.deepEqual(runner.batches, [[1], [2, 3]]);
  });

  it('lets queued writes land on close, and refuses a write made after close was called', async () => {
    const runner = gatedRunner();
    const queue = new GroupCommitQueue<number>({ runBatch: runner.runBatch });
    const queued = queue.push(1);
    const closing = queue.close();
    const late = queue.push(2);
    await assert.rejects(late, (e: unknown) => ApiError.is(e, 'unavailable'));
    await runner.commitNext();
    assert.equal(await queued, 10);
    await closing;
    assert.deepEqual(runner.batches, [[1]]);
  });
});
