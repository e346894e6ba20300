/**
 * Builds each route's `RoutePolicy` from the config: the named sets it lists, in order, then its
 * inline keys (named `route`). Within a set the steps run in a fixed order: access, basic auth,
 * rate limit, redirect, respond, strip prefix, rewrite, add prefix, request headers; on the answer,
 * response headers, then compression.
 */
import type { PolicySetConfig, RateLimitConfig } from "../config/policy-schema.ts";
import { POLICY_KEYS } from "../config/policy-schema.ts";
import type { Config, ListenerConfig, RouteConfig } from "../config/schema.ts";
import type { PolicyMetrics, PolicyStats } from "../observe/policy-metrics.ts";
import { accessStep } from "./access.ts";
import { basicAuthStep, type VerifyPassword } from "./basic-auth.ts";
import { compressConfigOf, compressStep } from "./compress.ts";
import { requestHeadersStep, responseHeadersStep } from "./headers.ts";
import { addPrefixStep, rewriteStep, stripPrefixStep } from "./path.ts";
import { rateLimitHeadersStep, rateLimitStep } from "./rate-limit.ts";
import { redirectStep } from "./redirect.ts";
import { respondStep } from "./respond.ts";
import { RoutePolicy } from "./route-policy.ts";
import type { RequestStep, ResponseStep } from "./step.ts";
import type { BucketStore } from "./token-bucket.ts";

/** What compiling needs besides the config. */
export interface PolicyDeps {
  metrics: PolicyMetrics;
  /** The runtime's password hash check; without it a basic_auth section cannot be used. */
  verifyPassword?: VerifyPassword | undefined;
  /** Whether `verifyPassword` checks this kind of hash (`Runtime.passwordHashSupported`); all when absent. */
  passwordHashSupported?: ((hash: string) => boolean) | undefined;
  /**
   * The bucket store of a rate limit. `id` names the limit: a named set's limit is one limit for
   * every route that lists it; a route's inline one is its own.
   */
  buckets(id: string, config: RateLimitConfig): BucketStore;
}

/** The name inline keys run under. */
export const INLINE_POLICY = "route";

/** Whether a set or route has any policy key. */
export function hasPolicyKeys(set: Partial<PolicySetConfig>): boolean {
  return POLICY_KEYS.some((key) => set[key] !== undefined);
}

/** The sets a route runs, in order: `[name, keys]`. */
export function policySetsOf(config: Config, route: RouteConfig): [string, PolicySetConfig][] {
  const sets: [string, PolicySetConfig][] = [];
  for (const name of route.policies ?? []) {
    const set = config.policies?.[name];
    if (set) sets.push([name, set]);
  }
  if (hasPolicyKeys(route)) sets.push([INLINE_POLICY, route]);
  return sets;
}

/** The compiled policies of each route of `listener`, by route index (undefined: none). */
export function compileListenerPolicies(config: Config, listener: ListenerConfig, deps: PolicyDeps): (RoutePolicy | undefined)[] | undefined {
  const compiled = listener.routes.map((route, index) => compileRoutePolicy(config, listener.name, route, index, deps));
  return compiled.some((p) => p !== undefined) ? compiled : undefined;
}

/** One route's policies, or undefined when it has none. */
export function compileRoutePolicy(config: Config, listener: string, route: RouteConfig, index: number, deps: PolicyDeps): RoutePolicy | undefined {
  const sets = policySetsOf(config, route);
  if (sets.length === 0) return undefined;
  const routeName = route.name ?? `route${index}`;
  const request: RequestStep[] = [];
  const response: ResponseStep[] = [];
  for (const [name, set] of sets) {
    const stats = deps.metrics.forPolicy(listener, routeName, name);
    const id = name === INLINE_POLICY ? `${listener}/${routeName}` : name;
    addSteps(name, set, stats, id, deps, request, response);
  }
  const path = route.match?.path;
  const pathRegex = typeof path === "object" && "regex" in path ? new RegExp(path.regex) : undefined;
  return new RoutePolicy(sets.map(([name]) => name), request, response, pathRegex);
}

function addSteps(name: string, set: PolicySetConfig, stats: PolicyStats, id: string, deps: PolicyDeps, request: RequestStep[], response: ResponseStep[]): void {
  if (set.allow !== undefined || set.deny !== undefined) request.push(accessStep(set.allow, set.deny, name, stats));
  if (set.basic_auth) {
    if (!deps.verifyPassword) throw new Error(`policy "${name}": basic_auth needs a runtime that checks bcrypt and argon2 hashes (Bun); this one has none`);
    const supported = deps.passwordHashSupported;
    const unchecked = supported ? Object.entries(set.basic_auth.users).find(([, hash]) => !supported(hash)) : undefined;
    if (unchecked) {
      const [user, hash] = unchecked;
      const kind = hash.startsWith("$argon2") ? "an argon2" : `a "${hash.slice(0, hash.indexOf("$", 1) + 1)}" bcrypt`;
      throw new Error(`policy "${name}": basic_auth user "${user}" has ${kind} hash, which this runtime cannot check (Deno checks $2a$, $2b$ and $2y$ bcrypt hashes only); give the user a bcrypt hash (tenbin hash-password --algorithm bcrypt) or run tenbin with Bun`);
    }
    request.push(basicAuthStep(set.basic_auth, deps.verifyPassword, name, stats));
  }
  if (set.rate_limit) request.push(rateLimitStep(set.rate_limit, deps.buckets(id, set.rate_limit), name, stats));
  if (set.redirect) request.push(redirectStep(set.redirect, name, stats));
  if (set.respond) request.push(respondStep(set.respond, name, stats));
  if (set.strip_prefix !== undefined) request.push(stripPrefixStep(set.strip_prefix, name, stats));
  if (set.rewrite) request.push(rewriteStep(set.rewrite, name, stats));
  if (set.add_prefix !== undefined) request.push(addPrefixStep(set.add_prefix, name, stats));
  if (set.request_headers) request.push(requestHeadersStep(set.request_headers, name, stats));
  // Before response_headers, so a set's own header edits have the last word on the answer.
  if (set.rate_limit?.headers === "always") response.push(rateLimitHeadersStep(name, stats));
  if (set.response_headers) response.push(responseHeadersStep(set.response_headers, name, stats));
  if (set.compress !== undefined && set.compress !== false) response.push(compressStep(compressConfigOf(set.compress), name, stats));
}
