// Waiting in tests. A wait polls until its probe gives a value, and past its deadline fails
// naming what it waited for. A probe that throws fails the wait at once with that error: an
// error is never read as "nothing arrived yet" (a probe that means to treat a failure as "not
// yet" says so itself, with its own catch).
import { setTimeout as sleep } from 'node:timers/promises';

export type Probe<T> = () => T | undefined | false | Promise<T | undefined | false>;

/** Generous: machines running the suite are often loaded. */
export const DEFAULT_WAIT_MS = 20_000;
const POLL_MS = 25;

/** The probe's own source, as the description of a wait that was given none. */
function describeProbe(probe: Probe<unknown>): string {
  const source = probe.toString().replace(/\s+/g, ' ').trim();
  return source.length > 200 ? `${source.slice(0, 197)}...` : source;
}

/**
 * Polls `probe` until it gives a value other than undefined or false, and resolves with it;
 * after `ms` fails with an error naming `what`. Call as `eventually(what, probe, ms?)` or
 * `eventually(probe, ms?, what?)` (then the probe's source names it if `what` is missing).
 */
export function eventually<T>(what: string, probe: Probe<T>, ms?: number): Promise<T>;
export function eventually<T>(probe: Probe<T>, ms?: number, what?: string): Promise<T>;
export async function eventually<T>(
  first: string | Probe<T>,
  second?: Probe<T> | number,
  third?: number | string,
): Promise<T> {
  const [what, probe, ms] =
    typeof first === 'string'
      ? [first, second as Probe<T>, (third as number | undefined) ?? DEFAULT_WAIT_MS]
      : [
          (third as string | undefined) ?? describeProbe(first),
          first,
          (second as number | undefined) ?? DEFAULT_WAIT_MS,
        ];
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}
