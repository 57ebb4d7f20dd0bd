// C2SP signed-note and tlog-checkpoint: the Go sumdb/note known answer (PeterNeumann's key,
// key ID and signature), key ID derivation, strict parsing with size limits, and the
// signature rules of the spec (unknown keys ignored, a bad signature by the known key fatal).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  KtError,
  formatCheckpoint,
  formatNoteVerifierKey,
  noteVerifierKey,
  openCheckpoint,
  openNote,
  parseNoteVerifierKey,
  signCheckpoint,
  signNote,
} from '../src/index.js';
import { fromBase64 } from '../src/bytes.js';

// golang.org/x/mod sumdb/note note_test.go: TestSign / TestOpen.
const peterVkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const peterSeed = fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz')!.subarray(1);
const peterText =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const peterSig =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const enochSig =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const malformed = (err: unknown) => KtError.is(err, 'malformed');
const badSignature = (err: unknown) => KtError.is(err, 'verification-failed');

describe('C2SP signed note (Go sumdb/note known answers)', () => {
  const peter = parseNoteVerifierKey(peterVkey);

  it('parses the verifier key and derives its key ID from SHA-256(name || 0x0A || 0x01 || key)', () => {
    assert.equal(peter.name, 'PeterNeumann');
    assert.equal(peter.keyId, 0xc74f20a3);
    assert.deepEqual(noteVerifierKey('PeterNeumann', ed25519.getPublicKey(peterSeed)), peter);
    assert.equal(formatNoteVerifierKey(peter), peterVkey);
  });

  it('signs the text exactly as Go does, and verifies it', () => {
    assert.equal(signNote(peterText, 'PeterNeumann', peterSeed), `${peterText}\n${peterSig}`);
    assert.equal(openNote(`${peterText}\n${peterSig}`, peter).text, peterText);
  });

  it('ignores a signature by an unknown key but needs one by the known key', () => {
    assert.equal(openNote(`${peterText}\n${peterSig}${enochSig}`, peter).text, peterText);
    assert.throws(() => openNote(`${peterText}\n${enochSig}`, peter), badSignature);
  });

  it('rejects the note when the known key’s signature is corrupted', () => {
    const bad = peterSig.slice(0, 60) + 'ABCD' + peterSig.slice(60);
    assert.throws(
      () => openNote(`${peterText}\n${bad}`, peter),
      (e: unknown) => malformed(e) || badSignature(e),
    );
    const flipped = peterSig.replace('x08go/ZJ', 'x08go/ZK');
    assert.throws(() => openNote(`${peterText}\n${flipped}`, peter), badSignature);
    assert.throws(
      () => openNote(`${peterText.replace('answer', 'Answer')}\n${peterSig}`, peter),
      badSignature,
    );
  });

  it('rejects the malformed notes Go rejects', () => {
    for (const msg of [
      peterText,
      peterText + '\n',
      peterText + '\n' + peterSig.slice(0, -1),
      '\x01' + peterText + '\n' + peterSig,
      peterText +
        '\n' +
        '— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=',
      peterText + '\n' + peterSig + 'Unexpected line.\n',
      peterText + '\n' + peterSig.repeat(101),
    ]) {
      assert.throws(() => openNote(msg, peter), malformed, JSON.stringify(msg.slice(-40)));
    }
    assert.throws(() => openNote(new Uint8Array([0xff, 0x0a, 0x0a]), peter), malformed);
    assert.throws(() => openNote('a'.repeat(20000), peter), malformed);
  });

  it('rejects mangled verifier keys', () => {
    for (const k of [
      peterVkey.slice(1),
      peterVkey.slice(0, -1),
      peterVkey.replace('c74f20a3', 'c74f20a4'),
      peterVkey.replace('+ARpc', '+ZRpc'),
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
    ]) {
      assert.throws(() => parseNoteVerifierKey(k), malformed, k);
    }
  });

  it('round-trips verifier keys whose base64 contains "+" (the standard alphabet allows it)', () => {
    let withPlus: string | undefined;
    for (let i = 0; i < 200 && !withPlus; i++) {
      const key = noteVerifierKey('chat.example/kt', ed25519.getPublicKey(ed25519.utils.randomSecretKey()));
      const text = formatNoteVerifierKey(key);
      if (text.split('+').length > 3) withPlus = text;
    }
    assert.ok(withPlus, 'found a key whose base64 holds a "+"');
    assert.equal(formatNoteVerifierKey(parseNoteVerifierKey(withPlus)), withPlus);
  });
});

describe('C2SP tlog-checkpoint', () => {
  const secret = ed25519.utils.randomSecretKey();
  const origin = 'chat.example/kt';
  const key = noteVerifierKey(origin, ed25519.getPublicKey(secret));
  const rootHash = new Uint8Array(32).fill(7);

  it('formats origin, size and base64 root and round-trips through sign and open', () => {
    const checkpoint = { origin, size: 20852163, rootHash };
    assert.equal(
      formatCheckpoint(checkpoint),
      `${origin}\n20852163\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n`,
    );
    const note = signCheckpoint(checkpoint, secret);
    assert.ok(note.startsWith(formatCheckpoint(checkpoint) + '\n— chat.example/kt '));
    assert.deepEqual(openCheckpoint(note, key), checkpoint);
  });

  it('refuses a checkpoint signed under another origin, even by the same key', () => {
    const note = signCheckpoint({ origin: 'other.example/kt', size: 1, rootHash }, secret);
    const otherKey = noteVerifierKey('other.example/kt', key.publicKey);
    assert.throws(() => openCheckpoint(note, key), badSignature);
    assert.equal(openCheckpoint(note, otherKey).size, 1);
    // The same text signed under the pinned name, but claiming another origin line.
    const forged = signNote(`other.example/kt\n1\n${'A'.repeat(43)}=\n`, origin, secret);
    assert.throws(() => openCheckpoint(forged, key), badSignature);
  });

  it('parses strictly: leading zeros, bad base64, short roots, missing lines', () => {
    for (const text of [
      `${origin}\n01\n${'A'.repeat(43)}=\n`,
      `${origin}\n-1\n${'A'.repeat(43)}=\n`,
      `${origin}\n1\n${'A'.repeat(43)}\n`,
      `${origin}\n1\n${'A'.repeat(42)}==\n`,
      `${origin}\n1\n${'A'.repeat(42)}B=\n`,
      `${origin}\n1\n`,
      `${origin}\n99999999999999999\n${'A'.repeat(43)}=\n`,
    ]) {
      const note = signNote(text, origin, secret);
      assert.throws(() => openCheckpoint(note, key), malformed, JSON.stringify(text));
    }
  });
});
