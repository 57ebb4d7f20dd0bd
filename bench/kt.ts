// bench:kt — key transparency at 1,000,000 accounts: lookup proof size and verification time,
// monitoring traffic per account per day, and append throughput of the log operator.
// The bulk fill uses random 32-byte labels instead of a million VRF outputs (the tree's
// shape depends only on the labels being uniformly random, which VRF outputs are); the fill
// goes through the operator's ordinary start-up path (pending updates replayed from its
// store, published as one epoch). Accounts that are looked up, monitored or updated below
// are real: appended by name, with VRF proofs. Every figure is a median over repeated runs.
import {
  KtLogOperator,
  MemoryKtStore,
  ZERO_HEAD,
  commitValue,
  decodeLookupProof,
  decodeMonitorProof,
  hashHistory,
  labelFromVrfOutput,
  openCheckpoint,
  verifyConsistencyProof,
  verifyLookupPaths,
  verifyMonitorProof,
  vrfVerify,
  accountVrfInput,
  type KtUpdateRecord,
} from '@ghostproof/kt';
import { median, round, writeResults } from './stats.js';

const ACCOUNTS = Number(process.env.KT_ACCOUNTS ?? 1_000_000);
/** Real accounts (VRF labels) added after the fill; lookups and monitors sample these. */
const REAL_ACCOUNTS = 1000;
/** One week of one-minute epochs: the log length the proofs are measured at. */
const EPOCHS = Number(process.env.KT_EPOCHS ?? 7 * 24 * 60);
const FILL_VALUE_BYTES = 64;
/** A realistic value: identity key, and a signed device list of a few devices. */
const VALUE_BYTES = 400;
const LOOKUP_SAMPLES = 200;
const VERIFY_ROUNDS = 5;
const APPEND_ROUNDS = 5;
const APPEND_BATCH = 500;
// Monitoring model (see docs/benchmarks.md): each device checks its own account hourly,
// epochs are one minute apart (so each check also needs a consistency proof over 60
// epochs), and an account changes (new device, new key) once a month on average.
const CHECKS_PER_DAY = 24;
const EPOCHS_PER_CHECK = 60;
const UPDATES_PER_DAY = 1 / 30;

const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const ms = (start: number) => performance.now() - start;

function log(line: string): void {
  console.log(line);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const store = new MemoryKtStore();
  const signingKey = rand(32);
  const vrfSecretKey = rand(32);
  const fillValue = rand(FILL_VALUE_BYTES);
  log(`kt: filling ${ACCOUNTS.toLocaleString()} accounts (random labels)…`);
  let start = performance.now();
  for (let i = 0; i < ACCOUNTS; i++) {
    const label = rand(32);
    const nonce = rand(32);
    const head = hashHistory(ZERO_HEAD, 1, commitValue(nonce, label, 1, fillValue));
    const update: KtUpdateRecord = { label, version: 1, nonce, value: fillValue, head };
    await store.addPending(update);
  }
  const fillPrepareS = ms(start) / 1000;
  start = performance.now();
  let clock = Date.now();
  const op = await KtLogOperator.open({
    store,
    origin: 'bench.example/kt',
    signingKey,
    vrfSecretKey,
    now: () => (clock += 60_000),
    limits: {
      maxValueBytes: 64 * 1024,
      maxMonitorVersions: 1024,
      maxAuditEpochs: 1024,
      maxAuditUpdates: 1 << 21,
      maxAuditNodes: 1 << 23,
    },
  });
  const fillPublishS = ms(start) / 1000;
  log(`  prepared in ${fillPrepareS.toFixed(1)} s, published as one epoch in ${fillPublishS.toFixed(1)} s`);

  // Real accounts, then enough epochs for a week-long log.
  const names = Array.from({ length: REAL_ACCOUNTS }, (_, i) => `user${i}`);
  for (const name of names) await op.append(name, rand(VALUE_BYTES));
  await op.publishEpoch();
  start = performance.now();
  while (op.size < EPOCHS) await op.publishEpoch();
  log(`  ${op.size.toLocaleString()} epochs published in ${(ms(start) / 1000).toFixed(1)} s`);
  const anchor = op.trustAnchor;

  // Lookup: proof size (without the value, which the client needs anyway) and verification.
  const sample = names.slice(0, LOOKUP_SAMPLES);
  const proofs = await Promise.all(sample.map((n) => op.proveLookup(n)));
  const proofBytes = proofs.map((p) => p.length - decodeLookupProof(p).latest!.value.length);
  const labels = sample.map((n, i) =>
    labelFromVrfOutput(
      vrfVerify(anchor.vrfPublicKey, accountVrfInput(n), decodeLookupProof(proofs[i]!).vrfProof),
    ),
  );
  const pathDepths = proofs.map((p) => depthOf(decodeLookupProof(p).tree));
  const verifyMs: number[] = [];
  const vrfMs: number[] = [];
  for (let round = 0; round < VERIFY_ROUNDS; round++) {
    for (let i = 0; i < sample.length; i++) {
      let s = performance.now();
      const r = verifyLookupPaths(anchor, labels[i]!, proofs[i]!);
      verifyMs.push(ms(s));
      if (r.version !== 1) throw new Error('lookup verified the wrong version');
      const pi = decodeLookupProof(proofs[i]!).vrfProof;
      s = performance.now();
      vrfVerify(anchor.vrfPublicKey, accountVrfInput(sample[i]!), pi);
      vrfMs.push(ms(s));
    }
  }

  // Monitoring: an hourly check with no new version, plus its consistency proof.
  const monitorBytes: number[] = [];
  const consistencyBytes: number[] = [];
  const older = openCheckpoint(op.checkpointAt(op.size - EPOCHS_PER_CHECK), anchor.logKey);
  const consistency = op.proveConsistency(older.size);
  verifyConsistencyProof(anchor, older, op.checkpoint, consistency);
  for (const name of sample.slice(0, 50)) {
    const first = verifyMonitorProof(anchor, name, undefined, await op.proveMonitor(name, 0));
    const quiet = await op.proveMonitor(name, 1);
    verifyMonitorProof(anchor, name, first.state, quiet);
    if (decodeMonitorProof(quiet).versions.length !== 0) throw new Error('unexpected versions');
    monitorBytes.push(quiet.length);
    consistencyBytes.push(consistency.length);
  }
  const openingBytes = 32 + 4 + VALUE_BYTES;
  const perDay =
    CHECKS_PER_DAY * (median(monitorBytes) + median(consistencyBytes)) + UPDATES_PER_DAY * openingBytes;

  // Append: each round appends a batch of new accounts (VRF proving included) and publishes.
  const rates: number[] = [];
  const vrfProveMs: number[] = [];
  const publishMs: number[] = [];
  for (let round = 0; round < APPEND_ROUNDS; round++) {
    const batch = Array.from({ length: APPEND_BATCH }, (_, i) => `new-${round}-${i}`);
    const s = performance.now();
    for (const name of batch) await op.append(name, rand(VALUE_BYTES));
    const p = performance.now();
    await op.publishEpoch();
    publishMs.push(ms(p));
    rates.push((APPEND_BATCH * 1000) / ms(s));
    const v = performance.now();
    op.vrf(`probe-${round}`);
    vrfProveMs.push(ms(v));
  }

  const results = {
    accounts: ACCOUNTS,
    lookup: {
      proof_bytes: median(proofBytes),
      verify_ms: round(median(verifyMs), 3),
      vrf_verify_ms: round(median(vrfMs), 3),
    },
    monitor: { bytes_per_account_per_day: Math.round(perDay) },
    append: { updates_per_s: round(median(rates), 1) },
    details: {
      node: process.version,
      accounts_in_tree: op.accountCount,
      log_epochs: op.size,
      prefix_path_depth_median: median(pathDepths),
      prefix_path_depth_max: Math.max(...pathDepths),
      lookup_proof_bytes_max: Math.max(...proofBytes),
      lookup_value_bytes_excluded: VALUE_BYTES,
      monitor_proof_bytes: median(monitorBytes),
      consistency_proof_bytes_per_check: median(consistencyBytes),
      monitor_model: {
        checks_per_day: CHECKS_PER_DAY,
        epochs_between_checks: EPOCHS_PER_CHECK,
        updates_per_account_per_day: round(UPDATES_PER_DAY, 4),
        opening_bytes_per_update: openingBytes,
      },
      append_batch: APPEND_BATCH,
      publish_ms_per_epoch_median: round(median(publishMs), 1),
      vrf_prove_ms: round(median(vrfProveMs), 2),
      fill_prepare_s: round(fillPrepareS, 1),
      fill_publish_s: round(fillPublishS, 1),
      total_s: round(ms(t0) / 1000, 1),
    },
  };
  const file = writeResults('kt', results);

  const goal = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.table({
    'lookup proof bytes': {
      value: results.lookup.proof_bytes,
      goal: '<= 2048',
      status: goal(results.lookup.proof_bytes <= 2048),
    },
    'lookup verify ms': {
      value: results.lookup.verify_ms,
      goal: '<= 2',
      status: goal(results.lookup.verify_ms <= 2),
    },
    'vrf verify ms': { value: results.lookup.vrf_verify_ms, goal: '', status: '' },
    'monitor bytes/account/day': { value: results.monitor.bytes_per_account_per_day, goal: '', status: '' },
    'append updates/s': { value: results.append.updates_per_s, goal: '', status: '' },
  });
  log(
    `monitor model: ${CHECKS_PER_DAY} checks/day × (monitor proof ${median(monitorBytes)} B + consistency proof ` +
      `${median(consistencyBytes)} B over ${EPOCHS_PER_CHECK} epochs) + ${round(UPDATES_PER_DAY, 3)} updates/day × ` +
      `${openingBytes} B opening`,
  );
  log(`log: ${op.size} epochs; prefix path depth median ${median(pathDepths)}; wrote ${file}`);
}

function depthOf(node: { kind: number; left?: unknown; right?: unknown }): number {
  // The path's length: internal nodes along the one unpruned branch.
  let depth = 0;
  let n = node as { kind: number; left: { kind: number }; right: { kind: number } };
  while (n.kind === 3) {
    depth++;
    n = (n.left.kind === 3 || n.left.kind === 2 ? n.left : n.right) as typeof n;
  }
  return depth;
}

await main();
