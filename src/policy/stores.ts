/**
 * The bucket stores of the rate limits of one process, kept across reloads: a reload that keeps a
 * limit unchanged keeps its buckets (clients do not get a fresh burst on every SIGHUP).
 */
import type { RateLimitConfig } from "../config/policy-schema.ts";
import type { Logger } from "../observe/log.ts";
import { bucketLimitOf } from "./rate-limit.ts";
import { redisBuckets } from "./redis-buckets.ts";
import { type BucketStore, LocalBuckets } from "./token-bucket.ts";

/** Makes the store of a limit that is not local (the primary's, Redis); undefined: count locally. */
export type RemoteStoreFactory = (id: string, config: RateLimitConfig, local: LocalBuckets) => BucketStore | undefined;

/** The rate limits' bucket stores by limit id and parameters. */
export class PolicyStores {
  #stores = new Map<string, BucketStore>();
  #used = new Set<string>();
  readonly #remote: RemoteStoreFactory | undefined;

  readonly #logger: Logger;

  constructor(logger: Logger, remote?: RemoteStoreFactory) {
    this.#logger = logger;
    this.#remote = remote;
  }

  /** The store of the limit `id` with `config`; the same one again while both stay the same. */
  buckets(id: string, config: RateLimitConfig): BucketStore {
    const key = `${id}\u0000${JSON.stringify(config)}`;
    this.#used.add(key);
    let store = this.#stores.get(key);
    if (store === undefined) {
      const limit = bucketLimitOf(config);
      const local = new LocalBuckets(limit);
      // With Redis every process (workers too) asks it directly; else a worker asks its primary.
      store = config.redis ? redisBuckets(id, config, limit, local, this.#logger) : this.#remote?.(id, config, local) ?? local;
      this.#stores.set(key, store);
    }
    return store;
  }

  /** Forgets the stores the last build did not ask for; call after a config is in force. */
  retainUsed(): void {
    for (const key of this.#stores.keys()) if (!this.#used.has(key)) this.#stores.delete(key);
    this.#used = new Set();
  }
}
