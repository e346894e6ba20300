/**
 * The one attempt loop (Caddy's proxy loop) behind HTTP forwarding, both WebSocket paths and TCP
 * sessions: ask the pool for a server, try it, and on a failure that is safe to repeat try another
 * server, up to the pool's `retries`. Each caller says what one attempt is and reports its outcome
 * to the pool (pool/outcome.ts); the loop owns what used to drift between four copies: which
 * servers are excluded, when to stop, and what the caller is told when no server was left.
 */
import type { AcquireFailure, Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { FailureKind } from "./outcome.ts";

/** How one attempt ended: an answer for the client, or a failure (maybe worth another server). */
export type AttemptResult<T> =
  | { readonly kind: "done"; readonly value: T }
  | {
    readonly kind: "failed";
    readonly failure: FailureKind;
    readonly reason: string;
    /** Whether another server may take the request (nothing was sent, or sending again is safe). */
    readonly retry: boolean;
    /** An answer to give if no later attempt does better (a `retry_on` status). */
    readonly fallback?: T | undefined;
  };

/** What the caller is told once the loop ends. */
export type LoopResult<T> =
  | { readonly kind: "done"; readonly value: T; readonly server: ServerState }
  /** The client went away while waiting in the queue. */
  | { readonly kind: "aborted" }
  /** No server could be had at all: the sorry path. */
  | { readonly kind: "no_server"; readonly why: AcquireFailure }
  /** Every attempt failed; `last` is the last failure (with its fallback answer, if any). */
  | { readonly kind: "failed"; readonly last: Extract<AttemptResult<T>, { kind: "failed" }>; readonly server: ServerState };

/**
 * One request's loop: whom to ask for, and what an attempt is. `attempt` runs it and `judge` reads
 * what it came to (two steps, so the HTTP path awaits its own attempt's promise and nothing more).
 */
export interface AttemptPlan<T, A = AttemptResult<T>> {
  pool: Pool;
  clientIp: string;
  hashKey: string | undefined;
  pinned: ServerState | undefined;
  /** What a queued wait ends on (the client's request or signal). */
  waitOn: AbortSignal | { readonly signal: AbortSignal } | undefined;
  /** One attempt on `server`, acquired for it; the attempt releases it when it is done with it. */
  attempt(server: ServerState, index: number): Promise<A>;
  /** What the attempt came to (its outcome is already reported to the pool by the attempt). */
  judge(outcome: A, server: ServerState): AttemptResult<T>;
  /**
   * What an attempt whose promise rejected came to, for a plan whose attempt is the bare request
   * (the forwarder's: its `judge` reads the answer); without it, a rejection ends the loop with it.
   */
  judgeFailure?(error: unknown, server: ServerState): AttemptResult<T>;
  /** A later server takes over from a failed attempt's fallback answer (free its body). */
  superseded?(fallback: T): void | Promise<void>;
  /** True when the client is gone: no further attempt. */
  gone(): boolean;
}

/** Runs `plan`'s attempts; see the file comment. */
export function runAttempts<T, A = AttemptResult<T>>(plan: AttemptPlan<T, A>): Promise<LoopResult<T>> {
  return runAttemptsThen<T, A, LoopResult<T>, AttemptPlan<T, A>>(plan, same);
}

/**
 * `runAttempts(plan)` followed by `conclude(result, plan)`, without a step between them: `conclude`
 * maps the loop's result in the same reaction that judges the last attempt. The first attempt, when
 * a server is free at once, runs without an async frame of its own: most requests are served by
 * their first server, and each promise level between the server's answer and the client's write
 * cost ~60-90 ns and its garbage (Bun 1.4.5). Throws of the loop or of `conclude` reject the
 * promise, as from an async function.
 */
export function runAttemptsThen<T, A, R, P extends AttemptPlan<T, A>>(plan: P, conclude: (result: LoopResult<T>, plan: P) => R | Promise<R>): Promise<R> {
  try {
    const first = plan.pool.acquire({ clientIp: plan.clientIp, hashKey: plan.hashKey, exclude: undefined, pinned: plan.pinned }, plan.waitOn);
    if (first instanceof Promise || typeof first === "string") return loop(plan, first).then((result) => conclude(result, plan));
    const server = first;
    return plan.attempt(server, 0).then(
      (outcome) => afterFirst(plan, server, plan.judge(outcome, server), conclude),
      (error: unknown) => afterFirst(plan, server, judgeFailure(plan, error, server), conclude),
    );
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What follows the first attempt's `result`: the conclusion, or the loop from the second attempt on. */
function afterFirst<T, A, R, P extends AttemptPlan<T, A>>(plan: P, server: ServerState, result: AttemptResult<T>, conclude: (result: LoopResult<T>, plan: P) => R | Promise<R>): R | Promise<R> {
  if (result.kind === "done") return conclude({ kind: "done", value: result.value, server }, plan);
  if (!result.retry || plan.gone() || plan.pool.config.retries < 1) return conclude({ kind: "failed", last: result, server }, plan);
  return loop(plan, undefined, server, result).then((looped) => conclude(looped, plan));
}

/** `plan.judgeFailure`, or the rejection passed on where the plan has none. */
function judgeFailure<T, A>(plan: AttemptPlan<T, A>, error: unknown, server: ServerState): AttemptResult<T> {
  if (plan.judgeFailure === undefined) throw error;
  return plan.judgeFailure(error, server);
}

function same<T>(value: T): T {
  return value;
}

/**
 * The loop: from the first acquisition (`got`, already asked for) or after a failed first attempt
 * on `previous` (with its result, `last`).
 */
async function loop<T, A>(
  plan: AttemptPlan<T, A>,
  got: ServerState | AcquireFailure | Promise<ServerState | AcquireFailure> | undefined,
  previous?: ServerState,
  last?: Extract<AttemptResult<T>, { kind: "failed" }>,
): Promise<LoopResult<T>> {
  const { pool } = plan;
  // Made on the first retry only: most requests are served by their first server.
  let tried: Set<ServerState> | undefined;
  for (let index = previous === undefined ? 0 : 1; index <= pool.config.retries; index++) {
    if (previous !== undefined) (tried ??= new Set()).add(previous);
    got ??= pool.acquire({ clientIp: plan.clientIp, hashKey: plan.hashKey, exclude: tried, pinned: plan.pinned }, plan.waitOn);
    const server = got instanceof Promise ? await got : got; // only a queued request waits
    got = undefined;
    if (typeof server === "string") {
      if (server === "aborted") return { kind: "aborted" };
      if (last !== undefined) break; // nothing else to try: answer with the last failure
      return { kind: "no_server", why: server };
    }
    // Another server takes over: only now drop the previous answer, so a client whose every try
    // failed that way still gets the last answer whole.
    if (last?.fallback !== undefined) await plan.superseded?.(last.fallback);
    previous = server;
    const pending = plan.attempt(server, index); // a throw here ends the loop
    let result: AttemptResult<T> | undefined;
    let outcome: A | undefined;
    try {
      outcome = await pending;
    } catch (error) {
      // The attempt's rejection is the plan's to judge; a throwing `judge` below ends the loop.
      result = judgeFailure(plan, error, server);
    }
    result ??= plan.judge(outcome as A, server);
    if (result.kind === "done") return { kind: "done", value: result.value, server };
    last = result;
    if (!result.retry || plan.gone()) break;
  }
  return { kind: "failed", last: last!, server: previous! };
}

/** `AttemptPlan.judge` for attempts that already answer with an `AttemptResult`. */
export function asJudged<T>(outcome: AttemptResult<T>): AttemptResult<T> {
  return outcome;
}
