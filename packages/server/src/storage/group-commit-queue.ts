// Group commit for both adapters: every write queued during one turn of the event loop goes
// to the database in one batch (one transaction), and each write's promise settles only after
// that batch committed, so "accepted" always means "stored". One batch is in flight at a
// time; writes arriving meanwhile form the next. How a batch runs (savepoints, retries,
// statements run together) is the adapter's; the queue only collects, hands over and settles.
import { ApiError } from '@ghostproof/api';

/** How one write of a batch ended. */
export type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export interface GroupCommitOptions<W> {
  /**
   * Runs a batch in one transaction and returns one outcome per write, in order. Throwing
   * fails every write of the batch with what was thrown (the transaction did not commit).
   */
  readonly runBatch: (writes: readonly W[]) => Outcome[] | Promise<Outcome[]>;
  /** Called after every committed batch with the number of writes and the seconds it took. */
  readonly onFlush?: ((writes: number, seconds: number) => void) | undefined;
}

interface Queued<W> {
  readonly write: W;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommitQueue<W> {
  private queue: Queued<W>[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: GroupCommitOptions<W>) {}

  /** Queues a write; resolves with its value once its batch committed. */
  push<T>(write: W): Promise<T> {
    if (this.closed) return Promise.reject(new ApiError('unavailable', 'storage is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  /**
   * Refuses new writes ('unavailable') from the moment it is called, and resolves once the
   * writes queued before it have landed. Refusing at once keeps a steady stream of writes
   * from holding a shutdown open.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.flushing || this.flushScheduled) {
      await (this.flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.queue.length > 0) this.scheduleFlush();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const started = performance.now();
    let outcomes: Outcome[];
    try {
      outcomes = await this.options.runBatch(batch.map((q) => q.write));
    } catch (error) {
      for (const q of batch) q.reject(error);
      return;
    }
    // Settle first: the batch committed, so a failing observer (metrics) must not leave its
    // writes waiting. Its error is a bug and goes on, loudly.
    batch.forEach((q, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) q.resolve(outcome.value);
      else q.reject(outcome.error);
    });
    this.options.onFlush?.(batch.length, (performance.now() - started) / 1000);
  }
}
