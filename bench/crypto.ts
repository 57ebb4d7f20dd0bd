// bench:crypto — MLS application messages through ts-mls with our CryptoProvider, side by
// side with ts-mls's default provider and Signal's native libsignal 1:1 session, in one run.
// One thread, public APIs only, 100-byte messages, one direction A→B; a pair is one encrypt
// by A and one decrypt by B. Groups of 2 and of 100 members, default ciphersuite (X-Wing).
// Every configuration runs in several interleaved rounds; the figures are medians.
import { defaultCryptoProvider, type CryptoProvider } from 'ts-mls';
import { ciphersuiteParams, cryptoProvider, defaultCiphersuite } from '@ghostproof/crypto';
import {
  makeGroup,
  makeMember,
  receive,
  send,
  type Member,
} from '../packages/crypto/test/helpers/mls-group.js';
import { median, ratePerSecond, round, writeResults } from './stats.js';
import { libsignalPairsPerSecond } from './yardstick/libsignal.js';

const PAYLOAD_BYTES = 100;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1500);
const suite = ciphersuiteParams(defaultCiphersuite)!.mlsName;

async function groupOf(size: number, provider: CryptoProvider): Promise<[Member, Member]> {
  const members: Member[] = [];
  for (let i = 0; i < size; i++) members.push(await makeMember(`member-${i}`, suite, provider));
  const [alice, bob, ...rest] = members as [Member, Member, ...Member[]];
  // Only Alice and Bob take part in the loop; the others just occupy leaves of the tree.
  await makeGroup(alice, [bob]);
  if (rest.length > 0) {
    const { createCommit, defaultProposalTypes, processMessage } = await import('ts-mls');
    const { newState, commit } = await createCommit({
      context: alice.context,
      state: alice.state!,
      extraProposals: rest.map((m) => ({
        proposalType: defaultProposalTypes.add,
        add: { keyPackage: m.keyPackage },
      })),
    });
    alice.state = newState;
    const processed = await processMessage({ context: bob.context, state: bob.state!, message: commit });
    bob.state = processed.newState;
  }
  return [alice, bob];
}

function pairLoop(alice: Member, bob: Member): () => Promise<void> {
  const payload = crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES));
  let checked = false;
  return async () => {
    const plaintext = await receive(bob, await send(alice, payload));
    if (!checked) {
      if (Buffer.compare(plaintext, payload) !== 0) throw new Error('decryption produced the wrong bytes');
      checked = true;
    }
  };
}

async function main(): Promise<void> {
  const configs: { key: string; measure: (ms: number) => Promise<number> }[] = [];
  for (const [name, provider] of [
    ['ours', cryptoProvider],
    ['default', defaultCryptoProvider],
  ] as const) {
    for (const size of [2, 100] as const) {
      const step = pairLoop(...(await groupOf(size, provider)));
      configs.push({ key: `${name}_${size}`, measure: (ms) => ratePerSecond(step, ms) });
    }
  }
  configs.push({
    key: 'libsignal',
    measure: (ms) => libsignalPairsPerSecond({ payloadBytes: PAYLOAD_BYTES, minDurationMs: ms }),
  });
  const samples = new Map<string, number[]>();
  const record = (key: string, value: number) => samples.set(key, [...(samples.get(key) ?? []), value]);

  // Warm up every configuration (JIT, key caches), then interleave the rounds, each round
  // starting at the next configuration so that none always runs first or after another.
  for (const c of configs) await c.measure(300);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < configs.length; i++) {
      const c = configs[(r + i) % configs.length]!;
      record(c.key, await c.measure(ROUND_MS));
    }
  }

  const pairs = Object.fromEntries(
    ['ours_2', 'ours_100', 'default_2', 'default_100', 'libsignal'].map((k) => [
      k,
      round(median(samples.get(k)!), 0),
    ]),
  ) as Record<'ours_2' | 'ours_100' | 'default_2' | 'default_100' | 'libsignal', number>;
  const results = {
    node: process.version,
    payload_bytes: PAYLOAD_BYTES,
    ciphersuite: suite,
    rounds: ROUNDS,
    round_ms: ROUND_MS,
    pairs_per_s: pairs,
    ratio_vs_default: round(pairs.ours_2 / pairs.default_2),
    ratio_vs_libsignal: round(pairs.ours_2 / pairs.libsignal),
    samples: Object.fromEntries([...samples].map(([k, v]) => [k, v.map((x) => round(x, 0))])),
  };
  const file = writeResults('crypto', results);

  console.log(`bench:crypto  ${suite}, ${PAYLOAD_BYTES}-byte messages, median of ${ROUNDS} rounds`);
  console.table(
    Object.entries(pairs).map(([config, perSecond]) => ({
      config,
      'pairs/s': perSecond,
      'vs default_2': round(perSecond / pairs.default_2),
      'vs libsignal': round(perSecond / pairs.libsignal),
    })),
  );
  console.log(
    `ratio_vs_default ${results.ratio_vs_default}  ratio_vs_libsignal ${results.ratio_vs_libsignal}`,
  );
  console.log(`written to ${file}`);
}

await main();
