/**
 * `basic_auth`: HTTP basic authentication against bcrypt or argon2 hashes only. A hash check is slow
 * by design (tens of milliseconds), so that a client cannot use tenbin as a CPU amplifier:
 * - a checked pair is remembered (keyed by the SHA-256 of the header, never the password) for
 *   `cache_for`, in a bounded table, and a failed one too (an unknown user is checked against a
 *   known user's hash, so answer times do not reveal user names);
 * - at most `MAX_CHECKS` checks run at once per process, `MAX_WAITING` more wait, others get 503.
 * The Authorization header is removed before forwarding unless `forward_credentials` is set.
 */
import { createHash } from "node:crypto";
import type { BasicAuthConfig } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import type { HeaderMap } from "../runtime/types.ts";
import type { PolicyContext } from "./context.ts";
import { plainAnswer, type RequestStep, type RequestStepResult } from "./step.ts";

/** Checks a password against a hash (the runtime's: `Runtime.verifyPassword`). */
export type VerifyPassword = (password: string, hash: string) => Promise<boolean>;

/** Remembered pairs per step (successes and failures together); the oldest go first. */
const CACHE_ENTRIES = 1024;
/** Hash checks at once per process: a bcrypt check keeps one core busy for its whole time. */
const MAX_CHECKS = 2;
const MAX_WAITING = 32;

/** Runs at most MAX_CHECKS hash checks at a time, shared by every basic_auth step of the process. */
class CheckGate {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /** Runs `check` when a slot is free; undefined when too many already wait. */
  run<T>(check: () => Promise<T>): Promise<T> | undefined {
    if (this.#running >= MAX_CHECKS && this.#waiting.length >= MAX_WAITING) return undefined;
    const go = async (): Promise<T> => {
      this.#running++;
      try {
        return await check();
      } finally {
        this.#running--;
        this.#waiting.shift()?.();
      }
    };
    if (this.#running < MAX_CHECKS) return go();
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(go);
  }
}

const gate = new CheckGate();

const dropAuthorization = (headers: HeaderMap): void => headers.delete("authorization");

/** The basic auth step. `verify` is the runtime's hash check. */
export function basicAuthStep(config: BasicAuthConfig, verify: VerifyPassword, policy: string, stats: PolicyStats): RequestStep {
  const users = new Map(Object.entries(config.users));
  const decoy = users.values().next().value!;
  const cache = new Map<string, { ok: boolean; until: number }>();
  const challenge = `Basic realm="${config.realm}", charset="UTF-8"`;
  const refuse = (ctx: PolicyContext, status: 401 | 503): RequestStepResult => {
    ctx.answeredBy = policy;
    if (status === 503) return plainAnswer(503, "Too many password checks at once; try again\n", { "content-type": "text/plain; charset=utf-8", "retry-after": "1" }, ctx.requestId);
    stats.count("unauthorized");
    return plainAnswer(401, "Unauthorized\n", { "content-type": "text/plain; charset=utf-8", "www-authenticate": challenge, "cache-control": "no-store" }, ctx.requestId);
  };
  const pass = (ctx: PolicyContext): undefined => {
    if (!config.forward_credentials) ctx.editHeaders(dropAuthorization);
    return undefined;
  };
  const remember = (key: string, ok: boolean): void => {
    if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(key, { ok, until: performance.now() + config.cache_for });
  };
  return {
    policy,
    kind: "basic_auth",
    stats,
    run(ctx) {
      const header = ctx.headers.get("authorization");
      const credentials = header === null ? undefined : parseBasic(header);
      if (credentials === undefined) return refuse(ctx, 401);
      // An unknown user is checked against a known user's hash all the same (and always refused), so
      // the time of the answer does not tell which user names exist (as Caddy does).
      const known = users.get(credentials.user);
      const hash = known ?? decoy;
      const key = createHash("sha256").update(header!).digest("base64");
      const cached = cache.get(key);
      if (cached !== undefined && cached.until > performance.now()) return cached.ok ? pass(ctx) : refuse(ctx, 401);
      const checking = gate.run(() => verify(credentials.password, hash).then((ok) => ok && known !== undefined, () => false));
      if (checking === undefined) return refuse(ctx, 503);
      return checking.then((ok) => {
        remember(key, ok);
        return ok ? pass(ctx) : refuse(ctx, 401);
      });
    },
    // Without credentials, or with a user it does not know, the answer is 401 whatever the password.
    answers: (ctx) => {
      const header = ctx.headers.get("authorization");
      const user = header === null ? undefined : parseBasic(header)?.user;
      return user !== undefined && users.has(user) ? undefined : 401;
    },
    explain: (ctx) => {
      const header = ctx.headers.get("authorization");
      const user = header === null ? undefined : parseBasic(header)?.user;
      if (user === undefined) return `basic auth (realm ${config.realm}): no credentials → 401 with WWW-Authenticate`;
      return `basic auth (realm ${config.realm}): user ${JSON.stringify(user)} ${users.has(user) ? "is checked against its hash (401 if wrong)" : "is unknown → 401"}`;
    },
  };
}

/** `Basic base64(user:password)` → its parts; undefined when malformed. */
export function parseBasic(header: string): { user: string; password: string } | undefined {
  const match = /^basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match) return undefined;
  const text = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}
