/**
 * `strip_prefix`, `add_prefix` and `rewrite`: the path sent to the server (the query is kept as it
 * came). The Host sent stays as the pool's `host_header` says; only the path changes.
 */
import type { PolicySetConfig } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import type { RequestStep } from "./step.ts";

/** Removes a prefix: `/api` takes `/api` and `/api/x` (→ `/` and `/x`), not `/apix`. */
export function stripPrefixStep(prefix: string, policy: string, stats: PolicyStats): RequestStep {
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const strip = (path: string): string => {
    if (path === bare || path === `${bare}/`) return "/";
    if (path.startsWith(`${bare}/`)) return path.slice(bare.length);
    return path;
  };
  return {
    policy,
    kind: "strip_prefix",
    stats,
    run(ctx) {
      ctx.path = strip(ctx.path);
      return undefined;
    },
    explain: (ctx) => `strip prefix ${bare}: path ${(ctx.path = strip(ctx.path))}`,
  };
}

/** Puts a prefix before the path (`/v2` + `/users` → `/v2/users`). */
export function addPrefixStep(prefix: string, policy: string, stats: PolicyStats): RequestStep {
  const bare = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const add = (path: string): string => bare + (path.startsWith("/") ? path : `/${path}`);
  return {
    policy,
    kind: "add_prefix",
    stats,
    run(ctx) {
      ctx.path = add(ctx.path);
      return undefined;
    },
    explain: (ctx) => `add prefix ${bare}: path ${(ctx.path = add(ctx.path))}`,
  };
}

/** Replaces the first match of a regex in the path; `$1` and `$<name>` name its groups. */
export function rewriteStep(config: NonNullable<PolicySetConfig["rewrite"]>, policy: string, stats: PolicyStats): RequestStep {
  const regex = new RegExp(config.regex);
  const rewrite = (path: string): string => {
    const out = path.replace(regex, config.replace);
    return out.startsWith("/") ? out : `/${out}`;
  };
  return {
    policy,
    kind: "rewrite",
    stats,
    run(ctx) {
      ctx.path = rewrite(ctx.path);
      return undefined;
    },
    explain: (ctx) => `rewrite ${regex.source} → ${config.replace}: path ${(ctx.path = rewrite(ctx.path))}`,
  };
}
