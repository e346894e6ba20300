/**
 * Token buckets in Redis, shared by every tenbin instance that names the same Redis and prefix. One
 * Lua script takes a token atomically, on Redis's clock (instances' clocks need not agree). When
 * Redis is down or slow the request is counted locally instead — never refused for it — with a log
 * line (at most one per 10 s) and the `redis_fallback` outcome counted.
 */
import type { RateLimitConfig } from "../config/policy-schema.ts";
import type { Logger } from "../observe/log.ts";
import { RespClient } from "./resp-client.ts";
import type { BucketLimit, BucketStore, LocalBuckets, TakeResult } from "./token-bucket.ts";

const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return { allowed, math.floor(tokens), tostring(wait) }
`;

/** Redis clients by URL, shared by the limits of a process. */
const clients = new Map<string, RespClient>();

/** A store that takes tokens in Redis, falling back to `local`. */
export function redisBuckets(id: string, config: RateLimitConfig, limit: BucketLimit, local: LocalBuckets, logger: Logger): BucketStore {
  const redis = config.redis!;
  let client = clients.get(redis.url);
  if (!client) {
    client = new RespClient(redis.url);
    clients.set(redis.url, client);
  }
  const rc = client;
  const perMs = String(limit.rate / limit.perMs);
  const burst = String(limit.burst);
  const prefix = `${redis.prefix}${id}:`;
  let lastWarn = -Infinity;
  const fallback = (key: string, why: string): TakeResult => {
    const now = performance.now();
    if (now - lastWarn >= 10_000) {
      lastWarn = now;
      logger.warn(`rate limit ${id}: redis ${redis.url.replace(/\/\/[^@]*@/, "//")} failed (${why}); counting locally until it answers again`);
    }
    return { ...local.take(key), local: true };
  };
  return {
    take(key) {
      return new Promise<TakeResult>((resolve) => {
        let settled = false;
        const settle = (result: () => TakeResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result());
        };
        const timer = setTimeout(() => settle(() => fallback(key, `no answer in ${redis.timeout} ms`)), redis.timeout);
        rc.command(["EVAL", TAKE_SCRIPT, "1", prefix + key, perMs, burst]).then((value) => {
          if (!Array.isArray(value) || value.length !== 3) return settle(() => fallback(key, value instanceof Error ? value.message : "unexpected answer"));
          const [allowed, remaining, wait] = value;
          settle(() => ({ allowed: allowed === 1, remaining: Number(remaining), waitMs: Number(wait) }));
        }, (error: Error) => settle(() => fallback(key, error.message)));
      });
    },
  };
}
