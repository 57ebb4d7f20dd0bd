// Token buckets for the limits on what comes from outside: registrations per address,
// sign-ins per address, lookups and claims per requester, claims per target, sends and
// uploads per device. In memory (per node); keys are opaque strings built by the caller and
// never logged. The table is bounded: when full, the stalest buckets are dropped, which can
// only make a limit more lenient for a while, never lock anyone out.
import { ApiError } from '@ghostproof/api';

export interface RateLimit {
  /** Requests allowed in a burst (and per window on average). */
  readonly limit: number;
  readonly windowMs: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly name: string,
    private readonly rate: RateLimit,
    private readonly clock: () => number,
    private readonly onLimited: (name: string) => void = () => {},
    private readonly maxKeys = 200_000,
  ) {}

  /** Takes `cost` tokens for `key`, or throws ApiError('rate-limited') with a retry hint. */
  take(key: string, cost = 1): void {
    const now = this.clock();
    const refillPerMs = this.rate.limit / this.rate.windowMs;
    let bucket = this.buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.rate.limit, bucket.tokens + (now - bucket.updatedAt) * refillPerMs);
      bucket.updatedAt = now;
      // Re-insert so that iteration order is least recently used first.
      this.buckets.delete(key);
      this.buckets.set(key, bucket);
    } else {
      if (this.buckets.size >= this.maxKeys) this.evict();
      bucket = { tokens: this.rate.limit, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    if (bucket.tokens < cost) {
      this.onLimited(this.name);
      const retryAfterMs = Math.ceil((cost - bucket.tokens) / refillPerMs);
      throw new ApiError('rate-limited', `${this.name}: too many requests`, { retryAfterMs });
    }
    bucket.tokens -= cost;
  }

  /** Drops buckets that have refilled completely: they hold no information. */
  sweep(): void {
    const now = this.clock();
    for (const [key, bucket] of this.buckets) {
      if (
        bucket.tokens + (now - bucket.updatedAt) * (this.rate.limit / this.rate.windowMs) >=
        this.rate.limit
      ) {
        this.buckets.delete(key);
      }
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    let n = Math.ceil(this.maxKeys / 10);
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key);
      if (--n === 0) break;
    }
  }
}
