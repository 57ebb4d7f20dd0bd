// Disappearing messages: whatever's time has come (by the injected clock) is deleted from the
// store itself, at open and then every `expirySweepMs` while the app runs, whether or not
// anything lists messages.
import type { Clock } from './clock.js';
import type { Emit } from './events.js';
import { errorFields, type Logger } from './logger.js';
import { EXPIRY_SWEEP_MS } from './options.js';
import type { ClientStore } from './store.js';

/** A sweep more often than this would only load the store. */
const MIN_SWEEP_MS = 50;

export class ExpirySweep {
  private sweeping: Promise<number> | undefined;
  private stopTimer: (() => void) | undefined;

  constructor(
    private readonly store: ClientStore,
    private readonly clock: Clock,
    private readonly emit: Emit,
    private readonly log: Logger,
  ) {}

  /**
   * Deletes every expired record now; emits `expired` when it deleted something.
   * @throws a store failure.
   */
  async sweep(): Promise<number> {
    this.sweeping ??= (async () => {
      try {
        const count = await this.store.deleteExpiredMessages(this.clock.now());
        if (count > 0) this.emit('expired', { count });
        return count;
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  /**
   * One sweep now, then every `everyMs` (EXPIRY_SWEEP_MS by default).
   * @throws a store failure of the first sweep.
   */
  async start(everyMs = EXPIRY_SWEEP_MS): Promise<void> {
    await this.sweep();
    // A timer must not keep a command-line process alive after its work is done.
    this.stopTimer = this.clock.every(
      Math.max(everyMs, MIN_SWEEP_MS),
      () =>
        void this.sweep().catch((error: unknown) => this.log.warn('expiry-sweep-failed', errorFields(error))),
      { unref: true },
    );
  }

  /** Stops the timer (at close). Never throws. */
  stop(): void {
    this.stopTimer?.();
    this.stopTimer = undefined;
  }
}
