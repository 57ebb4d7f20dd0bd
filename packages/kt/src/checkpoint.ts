// Checkpoints: the C2SP tlog-checkpoint format (origin, tree size, base64 root hash) inside a
// C2SP signed note, signed with Ed25519 by the log's key. Parsing is strict and bounded: a
// note that is not exactly what a log would sign is malformed, so that one checkpoint has one
// encoding and clients can compare checkpoints byte for byte as evidence.
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { checkBytes, concatBytes, fromBase64, fromUtf8, toBase64, toHex, utf8 } from './bytes.js';
import { KtError } from './errors.js';
import { HASH_LENGTH } from './log-tree.js';

/** The whole note, text and signatures; more than the 16 signatures verifiers must accept. */
export const MAX_NOTE_BYTES = 16 * 1024;
/** signed-note: verifiers MUST accept at least 16 signatures. */
export const MAX_NOTE_SIGNATURES = 32;
export const MAX_ORIGIN_BYTES = 256;
const MAX_EXTENSION_LINES = 16;
/** The signed-note signature type byte for Ed25519. */
const ED25519_TYPE = 0x01;
const EM_DASH_SPACE = '\u2014 ';

export interface Checkpoint {
  /** The log's identity, e.g. `chat.example/kt`; also the name of its signing key. */
  readonly origin: string;
  /** The number of leaves (epochs) in the log. */
  readonly size: number;
  /** The RFC 9162 root hash of the log at that size. */
  readonly rootHash: Uint8Array;
}

/** A note verifier key: the key name, its 32-bit key ID and the Ed25519 public key. */
export interface NoteVerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** Whether `name` may name a key or a log (a checkpoint's origin line). */
export function isValidKeyName(name: string): boolean {
  // Non-empty, no Unicode spaces, no '+', no control characters (signed-note §Format).
  return (
    name.length > 0 &&
    utf8(name).length <= MAX_ORIGIN_BYTES &&
    !hasControlCharacter(name, false) &&
    !/[\s+\u007f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name)
  );
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  checkBytes('note public key', publicKey, 32);
  const h = sha256(concatBytes(utf8(name), new Uint8Array([0x0a, ED25519_TYPE]), publicKey));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

export function noteVerifierKey(name: string, publicKey: Uint8Array): NoteVerifierKey {
  if (typeof name !== 'string' || !isValidKeyName(name)) {
    throw new KtError('invalid-input', 'note key name: must be non-empty, without spaces or "+"');
  }
  return { name, keyId: noteKeyId(name, publicKey), publicKey: publicKey.slice() };
}

/**
 * The verifier key string used by Go's sumdb/note and the transparency-dev ecosystem:
 * `<name>+<hex key ID>+<base64(0x01 || public key)>`. A compact way to publish and pin the
 * log key; `parseNoteVerifierKey` reverses it and checks the key ID.
 */
export function formatNoteVerifierKey(key: NoteVerifierKey): string {
  const id = key.keyId.toString(16).padStart(8, '0');
  return `${key.name}+${id}+${toBase64(concatBytes(new Uint8Array([ED25519_TYPE]), key.publicKey))}`;
}

export function parseNoteVerifierKey(text: string): NoteVerifierKey {
  const bad = () => new KtError('malformed', 'note verifier key: not <name>+<hex id>+<base64 key>');
  if (typeof text !== 'string' || text.length > MAX_ORIGIN_BYTES + 64) throw bad();
  // The name has no '+'; the base64 key may (standard alphabet), so split at the first two only.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw bad();
  const [name, id, key] = [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  if (!/^[0-9a-f]{8}$/.test(id) || !isValidKeyName(name)) throw bad();
  const raw = fromBase64(key);
  if (raw === undefined || raw.length !== 33 || raw[0] !== ED25519_TYPE) throw bad();
  const publicKey = raw.slice(1);
  const keyId = noteKeyId(name, publicKey);
  if (keyId !== parseInt(id, 16)) throw bad();
  return { name, keyId, publicKey };
}

/** The checkpoint's note text: origin, size and base64 root hash, each ending in a newline. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  if (typeof checkpoint.origin !== 'string' || !isValidKeyName(checkpoint.origin)) {
    throw new KtError('invalid-input', 'checkpoint origin: must be non-empty, without spaces or "+"');
  }
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw new KtError('invalid-input', 'checkpoint size: expected a non-negative integer');
  }
  checkBytes('checkpoint root hash', checkpoint.rootHash, HASH_LENGTH);
  return `${checkpoint.origin}\n${checkpoint.size}\n${toBase64(checkpoint.rootHash)}\n`;
}

/** Signs `text` (which must end in a newline) as a signed note with one Ed25519 signature. */
export function signNote(text: string, name: string, secretKey: Uint8Array): string {
  checkBytes('note signing key', secretKey, 32);
  if (!text.endsWith('\n') || text.includes('\n\n') || !isValidNoteText(text)) {
    throw new KtError('invalid-input', 'note text: must be non-empty lines each ending in a newline');
  }
  const key = noteVerifierKey(name, ed25519.getPublicKey(secretKey));
  const signature = ed25519.sign(utf8(text), secretKey);
  const sig = new Uint8Array(4 + signature.length);
  new DataView(sig.buffer).setUint32(0, key.keyId);
  sig.set(signature, 4);
  return `${text}\n${EM_DASH_SPACE}${name} ${toBase64(sig)}\n`;
}

export function signCheckpoint(checkpoint: Checkpoint, secretKey: Uint8Array): string {
  return signNote(formatCheckpoint(checkpoint), checkpoint.origin, secretKey);
}

function hasControlCharacter(text: string, allowNewline: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && !(allowNewline && c === 0x0a)) return true;
  }
  return false;
}

function isValidNoteText(text: string): boolean {
  // No ASCII control characters but newline (signed-note §Format).
  return !hasControlCharacter(text, true);
}

export interface OpenedNote {
  readonly text: string;
}

/**
 * Parses a signed note and verifies the signature of `key`. Signatures by other keys are
 * ignored, as the spec requires; a signature by `key` that fails to verify rejects the note,
 * and so does a note with no signature by `key`.
 */
export function openNote(note: string | Uint8Array, key: NoteVerifierKey): OpenedNote {
  const malformed = (why: string) => new KtError('malformed', `signed note: ${why}`);
  let text: string;
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES) throw malformed('too large');
    const decoded = fromUtf8(note);
    if (decoded === undefined) throw malformed('not valid UTF-8');
    text = decoded;
  } else if (typeof note === 'string') {
    if (note.length > MAX_NOTE_BYTES) throw malformed('too large');
    // A JavaScript string with a lone surrogate is not valid UTF-8.
    if (/\p{Cs}/u.test(note)) throw malformed('not valid UTF-8');
    text = note;
  } else {
    throw new KtError('invalid-input', 'signed note: expected a string or bytes');
  }
  if (utf8(text).length > MAX_NOTE_BYTES) throw malformed('too large');
  if (!isValidNoteText(text)) throw malformed('control characters');
  const split = text.lastIndexOf('\n\n');
  if (split < 0 || !text.endsWith('\n')) throw malformed('no signature block');
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed('too many signatures');
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(EM_DASH_SPACE)) throw malformed('bad signature line');
    const rest = line.slice(EM_DASH_SPACE.length);
    const space = rest.indexOf(' ');
    if (space <= 0) throw malformed('bad signature line');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw malformed('bad key name');
    const sig = fromBase64(rest.slice(space + 1));
    if (sig === undefined || sig.length < 5) throw malformed('bad signature encoding');
    const keyId = new DataView(sig.buffer, sig.byteOffset).getUint32(0);
    if (name !== key.name || keyId !== key.keyId) continue;
    let ok: boolean;
    try {
      ok = sig.length === 68 && ed25519.verify(sig.subarray(4), utf8(body), key.publicKey, { zip215: false });
    } catch {
      ok = false;
    }
    if (!ok) throw new KtError('verification-failed', 'signed note: the log signature does not verify');
    verified = true;
  }
  if (!verified) throw new KtError('verification-failed', 'signed note: not signed by the log key');
  return { text: body };
}

/** Parses checkpoint note text (origin, size, root hash, optional extension lines). */
export function parseCheckpoint(text: string): Checkpoint {
  const malformed = (why: string) => new KtError('malformed', `checkpoint: ${why}`);
  if (!text.endsWith('\n')) throw malformed('no final newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.length > 3 + MAX_EXTENSION_LINES) throw malformed('wrong number of lines');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!isValidKeyName(origin)) throw malformed('bad origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText)) throw malformed('bad tree size');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw malformed('tree size out of range');
  const rootHash = fromBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_LENGTH) throw malformed('bad root hash');
  if (lines.slice(3).some((l) => l.length === 0)) throw malformed('empty extension line');
  return { origin, size, rootHash };
}

/**
 * Verifies a signed checkpoint against the pinned log key and expected origin. The key name
 * must equal the origin, so one key cannot be used to vouch for another log's checkpoints.
 */
export function openCheckpoint(note: string | Uint8Array, key: NoteVerifierKey): Checkpoint {
  const { text } = openNote(note, key);
  const checkpoint = parseCheckpoint(text);
  if (checkpoint.origin !== key.name) {
    throw new KtError('verification-failed', 'checkpoint: origin differs from the pinned log name');
  }
  return checkpoint;
}

/** A short, stable fingerprint of a pinned key, for people to compare out of band. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return toHex(sha256(publicKey).subarray(0, 16)).replace(/(.{4})(?=.)/g, '$1 ');
}
