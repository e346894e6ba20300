/**
 * Rate limits with `workers: N`: the primary owns every bucket, so a limit holds for the instance as
 * a whole, exactly (a client's connections land on any process). A worker asks the primary for each
 * request of a rate-limited route (one IPC round trip, only on such routes) and counts locally, with
 * a log line and a metric, when the primary does not answer in `ASK_TIMEOUT_MS`.
 */
import type { RateLimitConfig } from "../config/policy-schema.ts";
import type { Logger } from "../observe/log.ts";
import type { RemoteStoreFactory } from "../policy/stores.ts";
import type { BucketStore, LocalBuckets, TakeResult } from "../policy/token-bucket.ts";

/** Longest wait for the primary's verdict before counting locally. */
export const ASK_TIMEOUT_MS = 250;
/** Questions in flight at once; beyond that a worker counts locally (the channel is clogged). */
const MAX_PENDING = 10_000;

/** Worker → primary: take a token of limit `limit` for `key`. */
export interface RateTakeMessage {
  type: "rate-take";
  seq: number;
  limit: string;
  config: RateLimitConfig;
  key: string;
}

/** Primary → worker: the verdict on question `seq`. */
export interface RateResultMessage {
  type: "rate-result";
  seq: number;
  result: TakeResult;
}

/** A worker's side: a bucket store per limit that asks the primary. */
export class RateClient {
  readonly #send: (message: RateTakeMessage) => void;
  readonly #logger: Logger;
  readonly #pending = new Map<number, { resolve: (r: TakeResult) => void; timer: ReturnType<typeof setTimeout> }>();
  #seq = 0;
  #lastWarn = -Infinity;
  /** Requests counted locally because the primary did not answer (for metrics and tests). */
  fallbacks = 0;

  constructor(send: (message: RateTakeMessage) => void, logger: Logger) {
    this.#send = send;
    this.#logger = logger;
  }

  /** The factory `Tenbin` builds its rate limits' stores with. */
  readonly factory: RemoteStoreFactory = (id, config, local) => this.#store(id, config, local);

  /** Hands a verdict to the request waiting for it. */
  deliver(message: RateResultMessage): void {
    const waiting = this.#pending.get(message.seq);
    if (!waiting) return;
    this.#pending.delete(message.seq);
    clearTimeout(waiting.timer);
    waiting.resolve(message.result);
  }

  #store(limit: string, config: RateLimitConfig, local: LocalBuckets): BucketStore {
    return {
      take: (key) => {
        if (this.#pending.size >= MAX_PENDING) return this.#fallback(local, key, "too many questions in flight");
        const seq = ++this.#seq;
        return new Promise<TakeResult>((resolve) => {
          const timer = setTimeout(() => {
            this.#pending.delete(seq);
            resolve(this.#fallback(local, key, "the primary did not answer"));
          }, ASK_TIMEOUT_MS);
          this.#pending.set(seq, { resolve, timer });
          this.#send({ type: "rate-take", seq, limit, config, key });
        });
      },
    };
  }

  #fallback(local: LocalBuckets, key: string, why: string): TakeResult {
    this.fallbacks++;
    const now = performance.now();
    if (now - this.#lastWarn >= 10_000) {
      this.#lastWarn = now;
      this.#logger.warn(`rate limit: ${why}; this worker counts on its own for now`);
    }
    return { ...local.take(key), local: true };
  }
}

/** The primary's side: answers a worker's question from the primary's own buckets. */
export async function answerRateTake(message: RateTakeMessage, buckets: (id: string, config: RateLimitConfig) => BucketStore): Promise<RateResultMessage> {
  const result = await buckets(message.limit, message.config).take(message.key);
  return { type: "rate-result", seq: message.seq, result };
}
