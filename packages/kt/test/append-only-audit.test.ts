// The auditor: an honest log verifies from genesis and from any checkpoint, page by page.
// Logs that break the rules — rewritten history, a dropped entry, a version that jumps, a
// key swapped without an update, a deleted account, time running backwards — are built with
// the log's own signing key (a compromised or compelled operator), and each is caught; every
// case also runs on the honest version of the same log, which must pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  EMPTY_NODE,
  KtError,
  KtLogOperator,
  LogTree,
  MemoryKtStore,
  PrefixTree,
  ZERO_HEAD,
  commitValue,
  decodeAuditProof,
  encodeAuditProof,
  encodeLogEntry,
  hashHistory,
  noteVerifierKey,
  openCheckpoint,
  signCheckpoint,
  verifyAuditProof,
  verifyConsistencyProof,
  type AuditProof,
  type Checkpoint,
  type KtTrustAnchor,
  type LogEntry,
} from '../src/index.js';
import { utf8 } from '../src/bytes.js';
import { seededRandom } from './helpers.js';

const origin = 'chat.example/kt';
const signingKey = seededRandom(11)(32);
const vrfSecretKey = seededRandom(12)(32);
const code = (c: string) => (e: unknown) => KtError.is(e, c as never);

async function operator(store = new MemoryKtStore(), maxAuditEpochs = 1024) {
  let clock = 1_700_000_000_000;
  return KtLogOperator.open({
    store,
    origin,
    signingKey,
    vrfSecretKey,
    now: () => (clock += 1000),
    randomBytes: seededRandom(13),
    limits: {
      maxValueBytes: 1024,
      maxMonitorVersions: 64,
      maxAuditEpochs,
      maxAuditUpdates: 10_000,
      maxAuditNodes: 100_000,
    },
  });
}

/** Audits the whole log page by page, as `ghostproof audit` does. */
async function auditAll(op: KtLogOperator, from?: Checkpoint): Promise<Checkpoint> {
  let at = from;
  while ((at?.size ?? 0) < op.size) {
    at = verifyAuditProof(op.trustAnchor, at, await op.proveAudit(at?.size ?? 0)).checkpoint;
  }
  return at!;
}

describe('audit of an honest operator', () => {
  it('verifies the whole log from genesis, in pages, and resumes from a checkpoint', async () => {
    const op = await operator(new MemoryKtStore(), 3);
    for (let e = 0; e < 7; e++) {
      for (let i = 0; i <= e; i++) await op.append(`user${i}`, utf8(`user${i} at ${e}`));
      await op.publishEpoch();
    }
    const mid = await auditAll(op);
    assert.equal(mid.size, 8);
    await op.append('user0', utf8('later'));
    await op.publishEpoch();
    assert.equal((await auditAll(op, mid)).size, 9);
  });
});

interface EvilUpdate {
  readonly label: Uint8Array;
  readonly version: number;
  readonly value: string;
}

interface EvilEpoch {
  readonly updates: readonly EvilUpdate[];
  /** Changes the tree after the listed updates, without listing them. */
  readonly tamper?: (tree: PrefixTree, heads: Map<string, Uint8Array>) => void;
  readonly timestampMs?: number;
  /** Replace the tree entirely (e.g. rebuilt without an account). */
  readonly rebuild?: (
    labels: Map<string, { label: Uint8Array; version: number; head: Uint8Array }>,
  ) => PrefixTree;
}

/** A log built directly from the primitives, signed with the real log key: what a malicious operator can publish. */
function buildLog(epochs: readonly EvilEpoch[]): {
  anchor: KtTrustAnchor;
  proof: (from: number) => Uint8Array;
  checkpoints: string[];
} {
  let tree = new PrefixTree();
  const log = new LogTree();
  const state = new Map<string, { label: Uint8Array; version: number; head: Uint8Array }>();
  const heads = new Map<string, Uint8Array>();
  const entries: LogEntry[] = [];
  const records: AuditProof['epochs'][number][] = [];
  const checkpoints: string[] = [];
  const nonce = new Uint8Array(32);
  epochs.forEach((epoch, index) => {
    const before = tree.prove(epoch.updates.map((u) => u.label));
    const audited = [];
    for (const u of epoch.updates) {
      const key = Buffer.from(u.label).toString('hex');
      const prev = state.get(key);
      const commitment = commitValue(nonce, u.label, u.version, utf8(u.value));
      const head = hashHistory(prev?.head ?? ZERO_HEAD, u.version, commitment);
      state.set(key, { label: u.label, version: u.version, head });
      heads.set(key, head);
      tree.set(u.label, u.version, head);
      audited.push({ label: u.label, version: u.version, commitment });
    }
    epoch.tamper?.(tree, heads);
    if (epoch.rebuild) tree = epoch.rebuild(state);
    const entry: LogEntry = {
      epoch: index,
      timestampMs: epoch.timestampMs ?? 1_700_000_000_000 + index * 1000,
      prefixRoot: tree.rootHash(),
      updateCount: audited.length,
    };
    entries.push(entry);
    log.append(encodeLogEntry(entry));
    records.push({ entry, delta: { updates: audited, tree: index === 0 ? EMPTY_NODE : before } });
    checkpoints.push(signCheckpoint({ origin, size: log.size, rootHash: log.root() }, signingKey));
  });
  const anchor: KtTrustAnchor = {
    logKey: openCheckpointKey(),
    vrfPublicKey: new Uint8Array(32),
  };
  return {
    anchor,
    checkpoints,
    proof: (from: number) =>
      encodeAuditProof({
        fromSize: from,
        frontier: log.frontier(from),
        ...(from === 0
          ? {}
          : { previous: { entry: entries[from - 1]!, inclusion: log.inclusionProof(from - 1, from) } }),
        epochs: records.slice(from),
        checkpoint: checkpoints[checkpoints.length - 1]!,
      }),
  };
}

/** The honest operator's key: the malicious logs below are signed with it. */
function openCheckpointKey(): KtTrustAnchor['logKey'] {
  return noteVerifierKey(origin, ed25519.getPublicKey(signingKey));
}

const alice = seededRandom(21)(32);
const bob = seededRandom(22)(32);
const carol = seededRandom(23)(32);

function honestEpochs(): EvilEpoch[] {
  return [
    { updates: [] },
    {
      updates: [
        { label: alice, version: 1, value: 'alice 1' },
        { label: bob, version: 1, value: 'bob 1' },
      ],
    },
    { updates: [{ label: alice, version: 2, value: 'alice 2' }] },
    { updates: [{ label: carol, version: 1, value: 'carol 1' }] },
  ];
}

/** Runs `check` on the honest log (must pass) and on the log changed by `evil` (must throw `expected`). */
function withControl(evil: (epochs: EvilEpoch[]) => EvilEpoch[], expected: string): void {
  const honest = buildLog(honestEpochs());
  const honestResult = verifyAuditProof(honest.anchor, undefined, honest.proof(0));
  assert.equal(honestResult.checkpoint.size, 4);
  const bad = buildLog(evil(honestEpochs()));
  assert.throws(() => verifyAuditProof(bad.anchor, undefined, bad.proof(0)), code(expected));
}

describe('audit of a malicious operator (each beside its honest control)', () => {
  it('catches a version that jumps by two', () => {
    withControl((e) => {
      e[2] = { updates: [{ label: alice, version: 3, value: 'alice 2' }] };
      return e;
    }, 'invalid-update');
  });

  it('catches a version that restarts at 1 (an account re-created to hide its history)', () => {
    withControl((e) => {
      e[2] = { updates: [{ label: alice, version: 1, value: 'alice again' }] };
      return e;
    }, 'invalid-update');
  });

  it('catches a key swapped in the tree without a listed update', () => {
    withControl((e) => {
      e[3] = {
        ...e[3]!,
        tamper: (tree) => tree.set(bob, 1, hashHistory(ZERO_HEAD, 1, new Uint8Array(32).fill(6))),
      };
      return e;
    }, 'invalid-update');
  });

  it('catches an account deleted from the tree', () => {
    withControl((e) => {
      e[3] = {
        ...e[3]!,
        rebuild: (state) => {
          const t = new PrefixTree();
          for (const s of state.values()) if (s.label !== bob) t.set(s.label, s.version, s.head);
          return t;
        },
      };
      return e;
    }, 'invalid-update');
  });

  it('catches an epoch whose time runs backwards', () => {
    withControl((e) => {
      e[3] = { ...e[3]!, timestampMs: 1_000 };
      return e;
    }, 'invalid-update');
  });

  it('catches a history rewritten after the auditor’s checkpoint, and a dropped entry', () => {
    const honest = buildLog(honestEpochs());
    const seen = verifyAuditProof(honest.anchor, undefined, honest.proof(0)).checkpoint;
    const mid = openCheckpoint(honest.checkpoints[1]!, honest.anchor.logKey);
    // Negative control: the honest log resumes from either checkpoint.
    assert.equal(verifyAuditProof(honest.anchor, mid, honest.proof(2)).checkpoint.size, 4);
    // Rewritten: epoch 1 registered a different key for bob.
    const rewritten = honestEpochs();
    rewritten[1] = {
      updates: [
        { label: alice, version: 1, value: 'alice 1' },
        { label: bob, version: 1, value: 'mallory as bob' },
      ],
    };
    const evil = buildLog([...rewritten, { updates: [] }]);
    assert.throws(() => verifyAuditProof(evil.anchor, mid, evil.proof(2)), code('inconsistent'));
    assert.throws(() => verifyAuditProof(evil.anchor, seen, evil.proof(4)), code('inconsistent'));
    // Dropped: epoch 2 (alice's second version) is gone; the log is otherwise well formed.
    const dropped = honestEpochs();
    dropped.splice(2, 1);
    dropped.push({ updates: [] }, { updates: [] });
    const evil2 = buildLog(dropped);
    assert.equal(verifyAuditProof(evil2.anchor, undefined, evil2.proof(0)).checkpoint.size, 5);
    assert.throws(() => verifyAuditProof(evil2.anchor, seen, evil2.proof(4)), code('inconsistent'));
  });

  it('catches an audit proof that skips an epoch, or a checkpoint that is not the audited log', async () => {
    const op = await operator();
    await op.append('alice', utf8('1'));
    await op.publishEpoch();
    await op.append('alice', utf8('2'));
    await op.publishEpoch();
    const honest = await op.proveAudit(0);
    assert.equal(verifyAuditProof(op.trustAnchor, undefined, honest).checkpoint.size, 3);
    const p = decodeAuditProof(honest);
    const skipped = encodeAuditProof({ ...p, epochs: [p.epochs[0]!, p.epochs[2]!] });
    assert.throws(() => verifyAuditProof(op.trustAnchor, undefined, skipped), code('inconsistent'));
    const truncated = encodeAuditProof({ ...p, epochs: p.epochs.slice(0, 2) });
    assert.throws(() => verifyAuditProof(op.trustAnchor, undefined, truncated), code('inconsistent'));
    // A client holding an older checkpoint also gets the consistency proof it needs.
    const older = openCheckpoint(op.checkpointAt(2), op.trustAnchor.logKey);
    verifyConsistencyProof(op.trustAnchor, older, op.checkpoint, op.proveConsistency(2));
  });
});
