// Byte helpers shared by every encoder and decoder in the package: input checks that name the
// field, a constant-time comparison, strict base64, and a bounded binary reader and writer.
// Every length read from untrusted bytes is checked against an explicit limit before anything
// is allocated, so a hostile proof can cost at most its own size in memory.
import { KtError } from './errors.js';

/** Throws `invalid-input` unless `value` is a Uint8Array (of `length` bytes, when given). */
export function checkBytes(field: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KtError('invalid-input', `${field}: expected Uint8Array, got ${typeof value}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new KtError('invalid-input', `${field}: expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** Throws `invalid-input` unless `value` is an integer in [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new KtError('invalid-input', `${field}: expected an integer in [${min}, ${max}]`);
  }
  return value;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Compares in time that depends only on the lengths, not on where the bytes differ. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const HEX_DIGITS = '0123456789abcdef';

export function toHex(bytes: Uint8Array): string {
  const codes = new Array<number>(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    codes[2 * i] = HEX_DIGITS.charCodeAt(bytes[i]! >> 4);
    codes[2 * i + 1] = HEX_DIGITS.charCodeAt(bytes[i]! & 15);
  }
  // One flat string: building it by `+=` would keep a rope of 2n pieces alive per key.
  return String.fromCharCode(...codes);
}

/**
 * A compact map key for a byte string: one character per byte, built flat. Hex would double
 * the size of the maps the operator keeps per account.
 */
export function bytesKey(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new KtError('invalid-input', 'hex: expected an even number of hex digits');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard base64 with padding (RFC 4648 §4), as signed notes use. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? B64[n & 63]! : '=';
  }
  return out;
}

/**
 * Strict base64 decoding: padding required, no whitespace, and unused bits must be zero, so
 * that every byte string has exactly one accepted encoding (a signed text cannot be varied
 * without changing its meaning). Returns undefined instead of throwing; callers name the field.
 */
export function fromBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      const last = i + 4 === text.length;
      if (c === 61 /* = */ && last && j >= 4 - pad) {
        n <<= 6;
        continue;
      }
      const v = c < 128 ? B64_INDEX[c]! : -1;
      if (v < 0) return undefined;
      n = (n << 6) | v;
    }
    if (pad === 2 && i + 4 === text.length && (n & 0xffff) !== 0) return undefined;
    if (pad === 1 && i + 4 === text.length && (n & 0xff) !== 0) return undefined;
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, returning undefined for invalid sequences instead of substituting U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Appends big-endian integers and byte strings to a growing buffer. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v & 255;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.buf[this.len++] = (v >>> 8) & 255;
    this.buf[this.len++] = v & 255;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    for (let shift = 24; shift >= 0; shift -= 8) this.buf[this.len++] = (v >>> shift) & 255;
    return this;
  }

  /** Integers up to 2^53 - 1 (JavaScript's safe range) in 8 bytes. */
  u64(v: number): this {
    this.u32(Math.floor(v / 2 ** 32));
    return this.u32(v >>> 0);
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** A byte string with a u32 length prefix. */
  varBytes(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/**
 * Reads what ByteWriter wrote. Every failure is a `malformed` KtError naming the field; lengths
 * and counts are checked against the caller's limits before use.
 */
export class ByteReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(field: string, n: number): void {
    if (n > this.remaining) throw new KtError('malformed', `${field}: truncated`);
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(field, 2);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(field, 4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  u64(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const hi = this.u32(field);
    const lo = this.u32(field);
    if (hi > 0x1fffff) throw new KtError('malformed', `${field}: out of range`);
    const v = hi * 2 ** 32 + lo;
    if (v > max) throw new KtError('malformed', `${field}: out of range`);
    return v;
  }

  /** A count that must not exceed `max`. */
  count(field: string, width: 1 | 2 | 4, max: number): number {
    const n = width === 1 ? this.u8(field) : width === 2 ? this.u16(field) : this.u32(field);
    if (n > max) throw new KtError('malformed', `${field}: ${n} exceeds the limit of ${max}`);
    return n;
  }

  bytes(field: string, n: number): Uint8Array {
    this.need(field, n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  varBytes(field: string, max: number): Uint8Array {
    return this.bytes(field, this.count(field, 4, max));
  }

  /** Throws unless every byte was consumed: trailing bytes would make encodings malleable. */
  end(field: string): void {
    if (this.remaining !== 0) throw new KtError('malformed', `${field}: trailing bytes`);
  }
}
