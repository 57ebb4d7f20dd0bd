/**
 * The messenger's one clock. `now()` is MessengerOptions.clock (Date.now by default) and
 * decides everything about time a person sees or the protocol relies on: timestamps, expiry,
 * token lifetime, the weekly self-update, the reset fallback. Waiting (backoff, polling,
 * deadlines of a wait, sweeps) takes real time through the timers here, never `now()`: a
 * test that freezes or moves the clock must neither hang a wait nor cut it short.
 */

export interface Clock {
  /** Milliseconds since the Unix epoch, as the injected clock says (a plain function: pass it on). */
  readonly now: () => number;
  /** Resolves after `ms` of real time. */
  sleep(ms: number): Promise<void>;
  /** Like `sleep`, but `wake()` ends the wait at once. */
  interruptibleSleep(ms: number): { done: Promise<void>; wake: () => void };
  /** Runs `task` once after `ms`; the returned function cancels it. */
  later(ms: number, task: () => void): () => void;
  /**
   * Runs `task` every `ms`; the returned function stops it. `unref`: the timer does not keep
   * a Node process alive (a command-line run ends when its work is done).
   */
  every(ms: number, task: () => void, options?: { unref?: boolean }): () => void;
  /** A deadline `ms` of real time away: `passed` turns true then; `done` resolves then. */
  deadline(ms: number): Deadline;
}

export interface Deadline {
  readonly passed: boolean;
  readonly done: Promise<void>;
  /** Frees the timer once the deadline no longer matters. */
  cancel(): void;
}

export function createClock(now: () => number = Date.now): Clock {
  return {
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    interruptibleSleep(ms) {
      let wake = (): void => undefined;
      const done = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      return { done, wake };
    },
    later(ms, task) {
      const timer = setTimeout(task, ms);
      return () => clearTimeout(timer);
    },
    every(ms, task, options = {}) {
      const timer = setInterval(task, ms);
      if (options.unref) (timer as { unref?: () => void }).unref?.();
      return () => clearInterval(timer);
    },
    deadline(ms) {
      let passed = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = new Promise<void>((resolve) => {
        timer = setTimeout(
          () => {
            passed = true;
            resolve();
          },
          Math.max(0, ms),
        );
      });
      return {
        get passed() {
          return passed;
        },
        done,
        cancel: () => clearTimeout(timer),
      };
    },
  };
}
