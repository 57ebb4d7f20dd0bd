// Safety numbers: two people compare these digits (or scan the QR code) to know that the
// identity keys their devices use for each other are the real ones. Each side's half is an
// iterated hash of the identity key and username; both halves sorted, so both people see
// the same number. A changed identity key changes the number.
import { createPlatformPrimitives } from '@ghostproof/crypto';

const VERSION = 0;
const ITERATIONS = 5200;
const DIGITS_PER_HALF = 30;

export interface SafetyNumberParty {
  readonly username: string;
  readonly identityKey: Uint8Array;
}

export interface SafetyNumber {
  /** 60 digits in twelve groups of five. */
  readonly digits: string;
  /** What the QR code encodes: version byte and both 32-byte fingerprints, sorted. */
  readonly qrPayload: Uint8Array;
}

async function fingerprint(party: SafetyNumberParty): Promise<Uint8Array> {
  const platform = await createPlatformPrimitives();
  const name = new TextEncoder().encode(party.username);
  const seed = new Uint8Array(2 + party.identityKey.length + name.length);
  seed.set([0, VERSION]);
  seed.set(party.identityKey, 2);
  seed.set(name, 2 + party.identityKey.length);
  let hash = await platform.digest('SHA-512', seed);
  const buffer = new Uint8Array(64 + party.identityKey.length);
  for (let i = 0; i < ITERATIONS; i++) {
    buffer.set(hash);
    buffer.set(party.identityKey, 64);
    hash = await platform.digest('SHA-512', buffer);
  }
  return hash.slice(0, 32);
}

function digitsOf(fp: Uint8Array): string {
  let out = '';
  for (let chunk = 0; chunk < DIGITS_PER_HALF / 5; chunk++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + fp[chunk * 5 + i]!;
    out += String(value % 100000).padStart(5, '0');
  }
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export async function safetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): Promise<SafetyNumber> {
  const [fa, fb] = [await fingerprint(a), await fingerprint(b)];
  const [first, second] = compare(fa, fb) <= 0 ? [fa, fb] : [fb, fa];
  const all = digitsOf(first) + digitsOf(second);
  const qrPayload = new Uint8Array(1 + 64);
  qrPayload[0] = VERSION;
  qrPayload.set(first, 1);
  qrPayload.set(second, 33);
  return { digits: all.match(/.{5}/g)!.join(' '), qrPayload };
}
