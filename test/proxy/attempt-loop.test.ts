/**
 * The attempt loop on its own (src/proxy/attempt-loop.ts): a pool that hands out servers from a
 * list, and plans whose attempts succeed or fail as each test says. The first attempt runs outside
 * the loop's async function (`runAttemptsThen`), so the hand-over to the loop after a failed first
 * attempt is what most of these check: indexes, exclusions, the fallback answer, the retry budget.
 */
import { describe, expect, test } from "bun:test";
import { type AttemptPlan, type AttemptResult, type LoopResult, runAttempts, runAttemptsThen } from "../../src/proxy/attempt-loop.ts";
import type { AcquireFailure, Pool } from "../../src/pool/pool.ts";
import type { ServerState } from "../../src/pool/server-state.ts";

interface Fake {
  name: string;
}

/** A pool over `servers`: each acquisition gives the first one not excluded (after a queue when `queued`). */
function pool(servers: Fake[], retries: number, queued = false, acquisitions: (ReadonlySet<ServerState> | undefined)[] = []): Pool {
  return {
    config: { retries },
    acquire(ctx: { exclude: ReadonlySet<ServerState> | undefined }): ServerState | AcquireFailure | Promise<ServerState | AcquireFailure> {
      acquisitions.push(ctx.exclude === undefined ? undefined : new Set(ctx.exclude));
      const got: ServerState | AcquireFailure = (servers.find((s) => !ctx.exclude?.has(s as unknown as ServerState)) as unknown as ServerState | undefined) ?? "unavailable";
      return queued ? Promise.resolve(got) : got;
    },
  } as unknown as Pool;
}

/** A plan whose attempt on each server ends as `outcomes` says (a result, or an Error to reject with). */
function plan(p: Pool, outcomes: Record<string, AttemptResult<string> | Error>, log: string[]): AttemptPlan<string> {
  return {
    pool: p,
    clientIp: "192.0.2.1",
    hashKey: undefined,
    pinned: undefined,
    waitOn: undefined,
    attempt(server, index) {
      const name = (server as unknown as Fake).name;
      log.push(`${name}#${index}`);
      const outcome = outcomes[name]!;
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
    judge: (outcome) => outcome,
    superseded(fallback) {
      log.push(`superseded ${fallback}`);
    },
    gone: () => false,
  };
}

const a = { name: "a" };
const b = { name: "b" };
const c = { name: "c" };
const done = (value: string): AttemptResult<string> => ({ kind: "done", value });
const failed = (retry: boolean, fallback?: string): AttemptResult<string> => ({ kind: "failed", failure: "connect", reason: "refused", retry, fallback });
const nameOf = (result: LoopResult<unknown>): string | undefined => ("server" in result ? (result.server as unknown as Fake).name : undefined);

describe("runAttempts and runAttemptsThen", () => {
  test("the first server answers: one attempt, index 0, no exclusion; the conclusion gets the result and the plan", async () => {
    const log: string[] = [];
    const acquisitions: (ReadonlySet<ServerState> | undefined)[] = [];
    const p = plan(pool([a, b], 2, false, acquisitions), { a: done("A") }, log);
    const seen: unknown[] = [];
    const answer = await runAttemptsThen(p, (result, given) => {
      seen.push(given);
      return result.kind === "done" ? `${result.value} from ${nameOf(result)}` : result.kind;
    });
    expect(answer).toBe("A from a");
    expect(seen).toEqual([p]);
    expect(log).toEqual(["a#0"]);
    expect(acquisitions).toEqual([undefined]);
  });

  test("a failed first attempt hands over to the loop: the next server, index 1, the first one excluded", async () => {
    const log: string[] = [];
    const acquisitions: (ReadonlySet<ServerState> | undefined)[] = [];
    const result = await runAttempts(plan(pool([a, b, c], 2, false, acquisitions), { a: failed(true), b: failed(true), c: done("C") }, log));
    expect(result.kind).toBe("done");
    expect(nameOf(result)).toBe("c");
    expect(log).toEqual(["a#0", "b#1", "c#2"]);
    expect(acquisitions.map((set) => (set === undefined ? [] : [...set].map((s) => (s as unknown as Fake).name)))).toEqual([[], ["a"], ["a", "b"]]);
  });

  test("no retry wanted, or no budget: the first failure is the result, on the first server", async () => {
    for (const [retry, retries] of [[false, 2], [true, 0]] as const) {
      const log: string[] = [];
      const result = await runAttempts(plan(pool([a, b], retries), { a: failed(retry), b: done("B") }, log));
      expect(result.kind).toBe("failed");
      expect(nameOf(result)).toBe("a");
      expect(log).toEqual(["a#0"]);
    }
  });

  test("the budget ends the loop: retries 1 tries two servers and answers with the last failure", async () => {
    const log: string[] = [];
    const result = await runAttempts(plan(pool([a, b, c], 1), { a: failed(true), b: failed(true, "fallback B"), c: done("C") }, log));
    expect(result.kind === "failed" && result.last.fallback).toBe("fallback B");
    expect(nameOf(result)).toBe("b");
    expect(log).toEqual(["a#0", "b#1"]);
  });

  test("a fallback answer is dropped only when another server takes over; when none is left, it is the answer", async () => {
    const log: string[] = [];
    const result = await runAttempts(plan(pool([a, b], 3), { a: failed(true, "A503"), b: failed(true, "B503") }, log));
    expect(log).toEqual(["a#0", "superseded A503", "b#1"]);
    expect(result.kind === "failed" && result.last.fallback).toBe("B503");
    expect(nameOf(result)).toBe("b");
  });

  test("a queued acquisition goes through the loop with the same result", async () => {
    const log: string[] = [];
    const result = await runAttemptsThen(plan(pool([a, b], 2, true), { a: failed(true), b: done("B") }, log), (r) => (r.kind === "done" ? r.value : r.kind));
    expect(result).toBe("B");
    expect(log).toEqual(["a#0", "b#1"]);
  });

  test("no server at all: no_server, and the conclusion still runs", async () => {
    const answer = await runAttemptsThen(plan(pool([], 2), {}, []), (r) => (r.kind === "no_server" ? `none: ${r.why}` : r.kind));
    expect(answer).toBe("none: unavailable");
  });

  test("a rejected attempt, a throwing conclusion or a throwing pool reject the promise; nothing throws at the call", async () => {
    const boom = new Error("boom");
    await expect(runAttempts(plan(pool([a], 2), { a: boom }, []))).rejects.toBe(boom);
    await expect(runAttemptsThen(plan(pool([a], 2), { a: done("A") }, []), () => {
      throw boom;
    })).rejects.toBe(boom);
    const throwing = { config: { retries: 1 }, acquire: () => {
      throw boom;
    } } as unknown as Pool;
    let returned: Promise<LoopResult<string>> | undefined;
    try {
      returned = runAttempts(plan(throwing, {}, []));
    } catch {
      returned = undefined;
    }
    expect(returned).toBeInstanceOf(Promise);
    await expect(returned!).rejects.toBe(boom);
  });

  test("judgeFailure: a rejected attempt, first or later, is judged like any failure and the loop goes on; a throwing judge still ends it", async () => {
    const log: string[] = [];
    const refused = new Error("refused");
    const judging = (outcomes: Record<string, AttemptResult<string> | Error>, judgeThrows = false): AttemptPlan<string> => ({
      ...plan(pool([a, b, c], 2), outcomes, log),
      judge(outcome) {
        if (judgeThrows) throw new Error("judge");
        return outcome as AttemptResult<string>;
      },
      judgeFailure(error, server) {
        log.push(`judged ${(error as Error).message} on ${(server as unknown as Fake).name}`);
        return failed(true);
      },
    });
    const result = await runAttempts(judging({ a: refused, b: refused, c: done("C") }));
    expect(result.kind === "done" && result.value).toBe("C");
    expect(log).toEqual(["a#0", "judged refused on a", "b#1", "judged refused on b", "c#2"]);
    await expect(runAttempts(judging({ a: done("A") }, true))).rejects.toThrow("judge");
  });
});
