// An attack test with its negative control, in one declaration: the same attack runs twice,
// once with the defence on (the test's assertion that it is caught) and once with it off (the
// test's assertion that it succeeds: the ghost reads, the forged roster shows). A defence test
// without its control can pass because the attack never worked at all; the control proves the
// attack is real. Every declaration is kept in a registry, so that a test can list the attack
// tests that have no control.
import { it } from 'node:test';

export interface AttackVerdict {
  /** With the defence on: the assertion that the attack was caught. */
  readonly caught: () => unknown;
  /** With the defence off: the assertion that the attack succeeded. */
  readonly succeeded: () => unknown;
}

export interface AttackRun {
  /** Whether this run has the defence on. */
  readonly defence: boolean;
  /** Runs the verdict's half for this run; a run must call it exactly once. */
  readonly verdict: (assertions: AttackVerdict) => Promise<void>;
}

export interface AttackDeclaration {
  /** The test title with the defence on: what the attacker tries and that it is caught. */
  readonly caught: string;
  /** The test title with the defence off (the negative control): that the attack works. */
  readonly control: string;
  /** Sets the attack up (switching the defence off when `defence` is false) and runs it. */
  readonly run: (attack: AttackRun) => Promise<void>;
}

export interface RegisteredAttack {
  readonly caught: string;
  readonly control: string;
}

const registry: RegisteredAttack[] = [];

/** Every attack declared with its control so far (in this process), in declaration order. */
export function registeredAttacks(): readonly RegisteredAttack[] {
  return registry;
}

/** Of `titles` (attack test titles), those that are neither half of a registered pair. */
export function attacksWithoutControl(titles: readonly string[]): string[] {
  const known = new Set(registry.flatMap((a) => [a.caught, a.control]));
  return titles.filter((title) => !known.has(title));
}

async function runOnce(declaration: AttackDeclaration, defence: boolean): Promise<void> {
  let verdicts = 0;
  await declaration.run({
    defence,
    async verdict(assertions) {
      verdicts++;
      await (defence ? assertions.caught() : assertions.succeeded());
    },
  });
  if (verdicts !== 1) {
    throw new Error(
      `the attack "${declaration.caught}" gave ${verdicts} verdicts with the defence ${defence ? 'on' : 'off'}, not one`,
    );
  }
}

/** Declares the two tests (defence on, then off) in the current describe, and registers them. */
export function attackWithControl(declaration: AttackDeclaration): void {
  registry.push({ caught: declaration.caught, control: declaration.control });
  it(declaration.caught, () => runOnce(declaration, true));
  it(declaration.control, () => runOnce(declaration, false));
}
