// The steps every attack and fault test starts with: a malicious-server harness that is
// closed (with everyone on it) whatever the test does, people registered through it, and a
// group whose members have all joined and accepted it.
import type { UnsafeTestingDisabledDefences } from '@ghostproof/client';
import { MaliciousServer } from './malicious-server.js';
import { eventually, Person } from './people.js';

/** Runs `run` against a fresh harness; closes every person in `people` and the harness after. */
export async function withServer(
  run: (harness: MaliciousServer, people: Person[]) => Promise<void>,
): Promise<void> {
  const harness = await MaliciousServer.start();
  const people: Person[] = [];
  try {
    await run(harness, people);
  } finally {
    for (const p of people) await p.close();
    await harness.close();
  }
}

/** Registers `name` through the harness (with `off` defences switched off) and keeps it in `people`. */
export async function register(
  harness: MaliciousServer,
  people: Person[],
  name: string,
  off: UnsafeTestingDisabledDefences = {},
): Promise<Person> {
  const person = await Person.register(harness, name, off);
  people.push(person);
  return person;
}

/** Waits until `person` has the conversation `id` (from its Welcome). */
export async function joined(person: Person, id: string) {
  return eventually(
    async () => (await person.messenger.conversationInfo(id).catch(() => undefined)) ?? undefined,
  );
}

/** A group created by the first person, with every other one joined and accepted into it. */
export async function group(first: Person, others: readonly Person[]): Promise<string> {
  const id = await first.messenger.createGroup(
    'team',
    others.map((p) => p.name),
  );
  for (const p of others) {
    await joined(p, id);
    await p.messenger.accept(id);
  }
  for (const p of [first, ...others]) await p.messenger.idle();
  return id;
}

/** The accounts on `person`'s roster of conversation `id`, sorted. */
export async function usernames(person: Person, id: string): Promise<string[]> {
  return (await person.messenger.members(id)).map((m) => m.username).sort();
}
