// Small byte helpers of the conversation code: hex ids for saved metadata, UTF-8 labels and
// SHA-256 over the platform's primitives.
import { createPlatformPrimitives } from '@ghostproof/crypto';

export const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
export const utf8 = (s: string) => new TextEncoder().encode(s);

export async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const platform = await createPlatformPrimitives();
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    joined.set(p, offset);
    offset += p.length;
  }
  return platform.digest('SHA-256', joined);
}
