// Decoder and verifier fuzzing: random bytes, random bytes behind a valid header, and single
// and multiple bit flips, truncations and extensions of valid proofs. Whatever the input, the
// only failure allowed is a KtError (never a TypeError, RangeError or a hang), and a mutated
// proof must never verify to a different result. Seeded and bounded, so every run is the same.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KtError,
  KtLogOperator,
  MemoryKtStore,
  decodeAuditProof,
  decodeConsistencyProof,
  decodeEpochDelta,
  decodeLookupProof,
  decodeMonitorProof,
  openCheckpoint,
  openNote,
  parseNoteVerifierKey,
  verifyAuditProof,
  verifyConsistencyProof,
  verifyLookupProof,
  verifyMonitorProof,
  vrfVerify,
} from '../src/index.js';
import { fromUtf8, toHex, utf8 } from '../src/bytes.js';
import { seededInt, seededRandom } from './helpers.js';

const random = seededRandom(0xf022);
const int = seededInt(0xf023);

function onlyKtErrors(fn: () => unknown): 'ok' | 'rejected' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof KtError)) {
      assert.fail(`expected a KtError, got ${String(err)}\n${(err as Error).stack ?? ''}`);
    }
    return 'rejected';
  }
}

function mutate(bytes: Uint8Array): Uint8Array {
  switch (int(5)) {
    case 0: {
      const out = bytes.slice();
      out[int(out.length)]! ^= 1 << int(8);
      return out;
    }
    case 1: {
      const out = bytes.slice();
      for (let i = 0, n = 1 + int(8); i < n; i++) out[int(out.length)] = int(256);
      return out;
    }
    case 2:
      return bytes.slice(0, int(bytes.length));
    case 3: {
      const out = new Uint8Array(bytes.length + 1 + int(40));
      out.set(bytes);
      out.set(random(out.length - bytes.length), bytes.length);
      return out;
    }
    default: {
      // Overwrite a 4-byte window, where lengths and counts live, with a large value.
      const out = bytes.slice();
      const at = int(Math.max(1, out.length - 4));
      out.set([0xff, 0xff, 0xff, int(256)], at);
      return out;
    }
  }
}

async function fixture() {
  let clock = 1_700_000_000_000;
  const op = await KtLogOperator.open({
    store: new MemoryKtStore(),
    origin: 'chat.example/kt',
    signingKey: seededRandom(31)(32),
    vrfSecretKey: seededRandom(32)(32),
    now: () => (clock += 1000),
    randomBytes: seededRandom(33),
  });
  for (let i = 0; i < 40; i++) await op.append(`user${i}`, utf8(`value ${i}`));
  await op.publishEpoch();
  await op.append('user1', utf8('value 1b'));
  await op.append('newcomer', utf8('new'));
  await op.publishEpoch();
  return op;
}

describe('fuzzing the decoders and verifiers (seeded, bounded)', () => {
  it('decoders throw only KtError on random bytes, with and without a valid header', () => {
    const decoders = [
      decodeLookupProof,
      decodeMonitorProof,
      decodeAuditProof,
      decodeConsistencyProof,
      decodeEpochDelta,
    ];
    for (let i = 0; i < 2000; i++) {
      const body = random(int(300));
      for (const [type, decode] of decoders.entries()) {
        onlyKtErrors(() => decode(body));
        const withHeader = new Uint8Array(5 + body.length);
        withHeader.set(utf8('GPKT'));
        withHeader[4] = type + 1;
        withHeader.set(body, 5);
        onlyKtErrors(() => decode(withHeader));
      }
    }
  });

  it('lookup and monitoring verification throw only KtError on mutated proofs, and never accept another value', async () => {
    const op = await fixture();
    const anchor = op.trustAnchor;
    const lookup = await op.proveLookup('user1');
    const monitor = await op.proveMonitor('user1', 0);
    const expected = toHex(verifyLookupProof(anchor, 'user1', lookup).value!);
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const mutated = mutate(lookup);
      onlyKtErrors(() => {
        const r = verifyLookupProof(anchor, 'user1', mutated);
        accepted++;
        assert.equal(toHex(r.value!), expected);
      });
      onlyKtErrors(() => verifyMonitorProof(anchor, 'user1', undefined, mutate(monitor)));
    }
    // Only mutations of bytes the verifier does not read (none exist) could pass.
    assert.equal(accepted, 0);
  });

  it('audit and consistency verification throw only KtError on mutated proofs', async () => {
    const op = await fixture();
    const anchor = op.trustAnchor;
    const audit = await op.proveAudit(0);
    const consistency = op.proveConsistency(1);
    const older = openCheckpoint(op.checkpointAt(1), anchor.logKey);
    for (let i = 0; i < 300; i++) {
      const result = onlyKtErrors(() => verifyAuditProof(anchor, undefined, mutate(audit)));
      assert.equal(result, 'rejected');
      onlyKtErrors(() => verifyConsistencyProof(anchor, older, op.checkpoint, mutate(consistency)));
    }
  });

  it('signed notes, verifier keys and VRF proofs reject mutations with KtError only', async () => {
    const op = await fixture();
    const note = utf8(op.checkpoint);
    const vkeyText = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
    const pi = decodeLookupProof(await op.proveLookup('user2')).vrfProof;
    for (let i = 0; i < 400; i++) {
      const m = mutate(note);
      onlyKtErrors(() => openCheckpoint(m, op.trustAnchor.logKey));
      const text = fromUtf8(m);
      if (text !== undefined) onlyKtErrors(() => openNote(text, op.trustAnchor.logKey));
      const k = fromUtf8(mutate(utf8(vkeyText)));
      if (k !== undefined) onlyKtErrors(() => parseNoteVerifierKey(k));
    }
    for (let i = 0; i < 60; i++) {
      onlyKtErrors(() => vrfVerify(op.trustAnchor.vrfPublicKey, utf8('user2'), mutate(pi)));
    }
  });
});
