// How both client stores (SQLite in Node, IndexedDB in browsers) turn a record into bytes
// before sealing it: JSON with byte arrays and bigints tagged. One definition, so a record
// reads back the same way on either platform.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function serializeRecord(value: unknown): Uint8Array {
  return encoder.encode(
    JSON.stringify(value, (_k, v: unknown) => {
      if (v instanceof Uint8Array) return { $b: toBase64(v) };
      if (typeof v === 'bigint') return { $n: v.toString() };
      return v;
    }),
  );
}

export function deserializeRecord<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes), (_k, v: unknown) => {
    if (v && typeof v === 'object' && '$b' in v) return fromBase64((v as { $b: string }).$b);
    if (v && typeof v === 'object' && '$n' in v) return BigInt((v as { $n: string }).$n);
    return v;
  }) as T;
}
