/**
 * `rate_limit`: a token bucket per key (the client address, a header or a cookie). An empty bucket
 * answers 429 with `Retry-After` and the `RateLimit-Policy` / `RateLimit` fields of the IETF draft
 * (draft-ietf-httpapi-ratelimit-headers: `"name";q=burst;w=seconds` and `"name";r=0;t=seconds`).
 * With `headers: always`, answers that pass carry both fields too (`r` = tokens left, `t` = seconds
 * until the bucket is full again), so a client can pace itself before it is refused; a response step
 * adds them.
 */
import type { RateLimitConfig } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import { appendBlock, type FieldBlock, fieldBlock } from "../http1/header-list.ts";
import type { HeaderMap } from "../runtime/types.ts";
import type { PolicyContext } from "./context.ts";
import { plainAnswer, type RequestStep, type RequestStepResult, type ResponseStep, withEditedHeaders } from "./step.ts";
import type { BucketLimit, BucketStore, TakeResult } from "./token-bucket.ts";

/** The limit parameters of a config section. */
export function bucketLimitOf(config: RateLimitConfig): BucketLimit {
  return { rate: config.rate, perMs: config.per, burst: config.burst ?? Math.ceil(config.rate), maxKeys: config.max_keys };
}

/** Reads the bucket key of a request. */
export function keyReader(key: string): (ctx: PolicyContext) => string {
  if (key === "client_ip") return (ctx) => ctx.clientIp;
  const colon = key.indexOf(":");
  const name = key.slice(colon + 1);
  if (key.startsWith("header:")) {
    const header = name.toLowerCase();
    return (ctx) => ctx.headers.get(header) ?? "";
  }
  return (ctx) => cookieValue(ctx.headers.get("cookie"), name) ?? "";
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The rate limit step over a bucket store. */
export function rateLimitStep(config: RateLimitConfig, store: BucketStore, policy: string, stats: PolicyStats): RequestStep {
  const limit = bucketLimitOf(config);
  const readKey = keyReader(config.key);
  const windowS = Math.max(1, Math.ceil((limit.burst * limit.perMs) / limit.rate / 1000));
  const policyField = `"${policy}";q=${limit.burst};w=${windowS}`;
  const policyBlock = fieldBlock([["ratelimit-policy", policyField]]);
  const limitPrefix = `"${policy}";r=`;
  const onEveryAnswer = config.headers === "always";
  const verdict = (ctx: PolicyContext, result: TakeResult): RequestStepResult => {
    if (result.local) stats.count("redis_fallback");
    if (result.allowed) {
      if (!onEveryAnswer) return undefined;
      // Seconds until the bucket is full again: the draft's reset time `t` of a token bucket.
      const resetS = Math.max(0, Math.ceil(((limit.burst - result.remaining) * limit.perMs) / limit.rate / 1000));
      (ctx.rateLimits ??= []).push([policyBlock, `${limitPrefix}${result.remaining};t=${resetS}`]);
      return undefined;
    }
    stats.count("rate_limited");
    ctx.answeredBy = policy;
    const after = Math.max(1, Math.ceil(result.waitMs / 1000));
    return plainAnswer(429, "Too many requests\n", {
      "content-type": "text/plain; charset=utf-8",
      "retry-after": String(after),
      "ratelimit-policy": policyField,
      ratelimit: `"${policy}";r=0;t=${after}`,
      "cache-control": "no-store",
    }, ctx.requestId);
  };
  return {
    policy,
    kind: "rate_limit",
    stats,
    run(ctx) {
      const result = store.take(readKey(ctx));
      return result instanceof Promise ? result.then((r) => verdict(ctx, r)) : verdict(ctx, result);
    },
    explain: (ctx) => `rate limit: ${limit.rate} per ${limit.perMs} ms, burst ${limit.burst}, key ${config.key} = ${JSON.stringify(readKey(ctx))} (429 when empty)`,
  };
}

function appendLimitFields(headers: HeaderMap, fields: [FieldBlock, string][]): void {
  for (const [policyField, limitField] of fields) {
    appendBlock(headers, policyField);
    headers.append("ratelimit", limitField);
  }
}

/**
 * Adds the `RateLimit-Policy` / `RateLimit` fields of the limits the request passed to its answer
 * (one per rate limit of the route; a 429 carries its own). Only routes with a `headers: always`
 * rate limit have it.
 */
export function rateLimitHeadersStep(policy: string, stats: PolicyStats): ResponseStep {
  return {
    policy,
    kind: "rate_limit_headers",
    stats,
    run(ctx, response) {
      const fields = ctx.rateLimits;
      if (fields === undefined) return response;
      // Each limit's step adds all passed limits once; the others then find none left.
      ctx.rateLimits = undefined;
      return withEditedHeaders(response, appendLimitFields, fields);
    },
    explain: () => "rate limit headers: RateLimit-Policy and RateLimit on the answer (tokens left, seconds to full)",
  };
}
