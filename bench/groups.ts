// bench:groups — what group size costs, through the protocol package's own API. For both
// ciphersuites and N = 10, 100, 1000: one commit adding N members (time and bytes of commit
// and Welcome), one new member processing the Welcome, a later update commit (time, bytes,
// and a member processing it), a commit removing one member (which carries an update path
// since the ts-mls patch, as an update does: docs/protocol.md), and a member's saved state.
// Key packages are checked against
// device lists as in production. Medians of BENCH_GROUP_ROUNDS rounds (default 3; 1 at 1000).
import type { DeviceList } from '@ghostproof/api';
import { Ciphersuite, type CiphersuiteId } from '@ghostproof/crypto';
import {
  createAccount,
  MemoryProtocolStore,
  ProtocolClient,
  verifyDeviceList,
  VerifiedListDirectory,
  type DeviceIdentity,
} from '@ghostproof/protocol';
import { median, round, writeResults } from './stats.js';

const SIZES = (process.env.BENCH_GROUP_SIZES ?? '10,100,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_GROUP_ROUNDS ?? 3);
const suites: [string, CiphersuiteId][] = [
  ['MLS_256_XWING_AES256GCM_SHA512_Ed25519', Ciphersuite.XWING_AES256GCM_SHA512_ED25519],
  ['MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519', Ciphersuite.X25519_AES128GCM_SHA256_ED25519],
];

interface Person {
  device: DeviceIdentity;
  list: DeviceList;
  client: ProtocolClient;
}

async function people(count: number, directory: VerifiedListDirectory): Promise<Person[]> {
  const out: Person[] = [];
  for (let i = 0; i < count; i++) {
    const { device, deviceList } = await createAccount(`member-${String(i).padStart(4, '0')}`);
    const list = await verifyDeviceList(deviceList.signed);
    directory.put(list);
    const client = await ProtocolClient.create({ device, directory, store: new MemoryProtocolStore() });
    out.push({ device, list, client });
  }
  return out;
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

interface Round {
  add_commit_ms: number;
  add_commit_bytes: number;
  welcome_bytes: number;
  welcome_process_ms: number;
  update_commit_ms: number;
  update_commit_bytes: number;
  update_process_ms: number;
  remove_commit_ms: number;
  remove_commit_bytes: number;
  remove_process_ms: number;
  state_bytes: number;
}

async function oneRound(suite: CiphersuiteId, n: number): Promise<Round> {
  const directory = new VerifiedListDirectory();
  const [creator, ...members] = await people(n + 1, directory);
  const additions: { username: string; keyPackages: Map<number, Uint8Array> }[] = [];
  for (const member of members) {
    const { oneTime } = await member.client.generateKeyPackages(1, suite);
    additions.push({ username: member.device.username, keyPackages: new Map([[1, oneTime[0]!]]) });
  }
  const conversation = await creator!.client.createConversation({ cipherSuite: suite });
  const [{ pending }, addMs] = await timed(() => conversation.prepareAddMembers(additions));
  if (!pending?.welcome) throw new Error('no welcome');
  await conversation.confirm(pending.id);
  const [joined, welcomeMs] = await timed(() => members[0]!.client.joinFromWelcome(pending.welcome!));
  const [update, updateMs] = await timed(() => conversation.prepareSelfUpdate());
  await conversation.confirm(update.id);
  const [, processMs] = await timed(() => joined.process(update.commit));
  const [removal, removeMs] = await timed(() =>
    conversation.prepareRemoveMembers([members[members.length - 1]!.device.username]),
  );
  await conversation.confirm(removal.id);
  const [, removeProcessMs] = await timed(() => joined.process(removal.commit));
  return {
    add_commit_ms: addMs,
    add_commit_bytes: pending.commit.length,
    welcome_bytes: pending.welcome.length,
    welcome_process_ms: welcomeMs,
    update_commit_ms: updateMs,
    update_commit_bytes: update.commit.length,
    update_process_ms: processMs,
    remove_commit_ms: removeMs,
    remove_commit_bytes: removal.commit.length,
    remove_process_ms: removeProcessMs,
    state_bytes: joined.record().length,
  };
}

async function main(): Promise<void> {
  const results = [];
  for (const [name, suite] of suites) {
    for (const n of SIZES) {
      const rounds: Round[] = [];
      for (let r = 0; r < (n >= 1000 ? 1 : ROUNDS); r++) rounds.push(await oneRound(suite, n));
      const pick = (k: keyof Round) => round(median(rounds.map((x) => x[k])), 1);
      const row = {
        ciphersuite: name,
        n,
        rounds: rounds.length,
        add_commit_ms: pick('add_commit_ms'),
        add_commit_bytes: pick('add_commit_bytes'),
        welcome_bytes: pick('welcome_bytes'),
        welcome_process_ms: pick('welcome_process_ms'),
        update_commit_ms: pick('update_commit_ms'),
        update_commit_bytes: pick('update_commit_bytes'),
        update_process_ms: pick('update_process_ms'),
        remove_commit_ms: pick('remove_commit_ms'),
        remove_commit_bytes: pick('remove_commit_bytes'),
        remove_process_ms: pick('remove_process_ms'),
        state_bytes: pick('state_bytes'),
      };
      results.push(row);
      console.log(JSON.stringify(row));
    }
  }
  const file = writeResults('groups', { node: process.version, results });
  console.table(
    results.map((r) => ({
      suite: r.ciphersuite.includes('XWING') ? 'X-Wing' : 'X25519',
      n: r.n,
      'add ms': r.add_commit_ms,
      'commit KB': round(r.add_commit_bytes / 1024, 1),
      'welcome KB': round(r.welcome_bytes / 1024, 1),
      'join ms': r.welcome_process_ms,
      'update ms': r.update_commit_ms,
      'update KB': round(r.update_commit_bytes / 1024, 1),
      'process ms': r.update_process_ms,
      'remove ms': r.remove_commit_ms,
      'remove KB': round(r.remove_commit_bytes / 1024, 1),
      'remove process ms': r.remove_process_ms,
      'state KB': round(r.state_bytes / 1024, 1),
    })),
  );
  console.log(`written to ${file}`);
}

await main();
