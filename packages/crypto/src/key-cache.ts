// Caches of parsed keys (OpenSSL KeyObjects, WebCrypto CryptoKeys) per key array, and the
// explicit eviction that forward secrecy needs from them. Parsing a key costs far more than
// using it (an X25519 PKCS#8 import takes about 0.4 ms under OpenSSL 3, a key agreement
// 0.03 ms), and ts-mls passes the same array for a key on every use, so each back end keeps
// one parsed key per array. A cached private key is a copy of the secret that zeroing the
// array does not reach: when a key is retired (an MLS commit replaces a path key, a Welcome
// consumes an init key) its owner calls `forgetSecretKeys`. The WeakMap only bounds what an
// owner that never calls it leaves behind, until the garbage collector runs.
import { constantTimeEqual } from './bytes.js';

interface Entry<K> {
  /** Of the bytes the key was parsed from; checked on every use (see KeyCache.get). */
  readonly check: Uint8Array;
  readonly key: K;
}

/**
 * One parsed key per key array. An entry is used only while the array still holds the bytes
 * it was parsed from: an array that was zeroed or reused for another key misses and is parsed
 * again. `check` makes the value compared for that; a cache of secret keys gets a one-way
 * fingerprint, so that it never holds a second copy of the secret in the JavaScript heap
 * (where a moving collector may leave further copies behind).
 */
export class KeyCache<K> {
  private readonly entries = new WeakMap<Uint8Array, Entry<K>>();
  /** Entries made and not yet removed by `forget`; what the collector drops still counts. */
  private made = 0;

  constructor(private readonly check: (raw: Uint8Array) => Uint8Array) {}

  /** The parsed key for `raw`, parsing and caching it on a miss. */
  get(raw: Uint8Array, parse: (raw: Uint8Array) => K): K {
    const check = this.check(raw);
    const entry = this.entries.get(raw);
    if (entry && constantTimeEqual(entry.check, check)) return entry.key;
    const key = parse(raw);
    this.entries.set(raw, { check, key });
    if (!entry) this.made++;
    return key;
  }

  /** The cached key for `raw` if there is one for its current bytes; never parses or caches. */
  lookup(raw: Uint8Array): K | undefined {
    const entry = this.entries.get(raw);
    return entry && constantTimeEqual(entry.check, this.check(raw)) ? entry.key : undefined;
  }

  /** Removes the entry for `raw` if it is still the one holding `key` (a failed import). */
  forgetIfHolding(raw: Uint8Array, key: K): void {
    if (this.entries.get(raw)?.key === key) this.forget(raw);
  }

  forget(raw: Uint8Array): void {
    if (this.entries.delete(raw)) this.made--;
  }

  has(raw: Uint8Array): boolean {
    return this.entries.has(raw);
  }

  /** The cached key whatever `raw` holds now; for the white-box tests only. */
  peek(raw: Uint8Array): K | undefined {
    return this.entries.get(raw)?.key;
  }

  get size(): number {
    return this.made;
  }
}

// Every cache of secret keys of every back end loaded. The back ends create theirs once, at
// module level, so this set stays as small as the number of back ends times two.
const secretKeyCaches = new Set<KeyCache<unknown>>();

/** A cache for secret keys: fingerprinted with `fingerprint`, and emptied by forgetSecretKeys. */
export function secretKeyCache<K>(fingerprint: (raw: Uint8Array) => Uint8Array): KeyCache<K> {
  const cache = new KeyCache<K>(fingerprint);
  secretKeyCaches.add(cache);
  return cache;
}

/**
 * Drops every parsed key that any back end has cached for these key arrays (signing keys,
 * key-agreement keys). Call it when a key is retired, before or after zeroing the array: the
 * parsed object is otherwise a live copy of the secret until the collector finds the array
 * unreachable. It does not touch the arrays themselves. A key used again later is simply
 * parsed again.
 */
export function forgetSecretKeys(keys: Iterable<Uint8Array>): void {
  for (const key of keys) {
    for (const cache of secretKeyCaches) cache.forget(key);
  }
}

/** Test-only: whether any back end holds a parsed secret key for this array. */
export function unsafeTestingIsSecretKeyCached(raw: Uint8Array): boolean {
  for (const cache of secretKeyCaches) if (cache.has(raw)) return true;
  return false;
}

/**
 * Test-only: the parsed secret key cached for this array (a node:crypto KeyObject, or a
 * promise of a WebCrypto CryptoKey), whatever the array holds now, so that a test can show
 * what a cache entry still computes after the array was zeroed. Never use it in products.
 */
export function unsafeTestingCachedSecretKey(raw: Uint8Array): unknown {
  for (const cache of secretKeyCaches) {
    const key = cache.peek(raw);
    if (key !== undefined) return key;
  }
  return undefined;
}

/**
 * Test-only: how many secret-key entries the back ends have made and not explicitly
 * forgotten. An entry that only the garbage collector dropped still counts, so the number
 * shows what explicit eviction left behind.
 */
export function unsafeTestingCachedSecretKeyCount(): number {
  let count = 0;
  for (const cache of secretKeyCaches) count += cache.size;
  return count;
}
