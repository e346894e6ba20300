/**
 * Token buckets in a bounded table (one per key): `rate` tokens per `perMs`, at most `burst` held.
 * The least recently used bucket goes when the table is full; a forgotten bucket comes back full,
 * which errs on letting a request through.
 */

/** The verdict on one request. */
export interface TakeResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Milliseconds until a token is there again (0 when allowed and one is left). */
  waitMs: number;
  /** Set when a shared store (Redis, the primary) failed and this process counted on its own. */
  local?: true;
}

/** Where the buckets of one rate limit live: this process, the primary process, or Redis. */
export interface BucketStore {
  take(key: string): TakeResult | Promise<TakeResult>;
}

/** The parameters of one limit. */
export interface BucketLimit {
  rate: number;
  perMs: number;
  burst: number;
  maxKeys: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The buckets of one limit in this process. */
export class LocalBuckets implements BucketStore {
  readonly #limit: BucketLimit;
  readonly #perMs: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  constructor(limit: BucketLimit, now: () => number = () => performance.now()) {
    this.#limit = limit;
    this.#perMs = limit.rate / limit.perMs;
    this.#now = now;
  }

  /** How many keys the table holds. */
  get size(): number {
    return this.#buckets.size;
  }

  take(key: string): TakeResult {
    const now = this.#now();
    const { burst, maxKeys } = this.#limit;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: burst, at: now };
    } else {
      // Re-inserted below, so the Map's order is least recently used first.
      this.#buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * this.#perMs);
      bucket.at = now;
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: Math.floor(bucket.tokens), waitMs: 0 };
    }
    return { allowed: false, remaining: 0, waitMs: (1 - bucket.tokens) / this.#perMs };
  }
}
