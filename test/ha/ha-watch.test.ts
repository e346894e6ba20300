/**
 * The readiness watcher behind `tenbin ha announce` and `tenbin ha track`: rise/fall, the first
 * answer at once, resync, withdraw on stop; and its two actions (birdc and a keepalived track_file).
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { birdAction, runReadinessWatch, trackFileAction } from "../../src/cli/ha-watch.ts";

/** Runs the watcher over `answers` (true: ready, false: not, "hang": no answer) and returns the actions it took. */
async function watch(answers: (boolean | "hang")[], options: { rise?: number; fall?: number; resyncMs?: number } = {}) {
  const calls: string[] = [];
  const stop = new AbortController();
  let i = 0;
  const fetch = (_url: string, init: RequestInit): Promise<Response> => {
    const answer = answers[i++];
    // Every answer is acted on; asked once more, the watcher is stopped (as by SIGTERM).
    if (answer === undefined) {
      stop.abort();
      return Promise.reject(new Error("stopped"));
    }
    if (answer === "hang") return new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(new DOMException("timeout", "TimeoutError"))));
    return Promise.resolve(Response.json({ ready: answer }, { status: answer ? 200 : 503 }));
  };
  const code = await runReadinessWatch({
    admin: { host: "127.0.0.1", port: 9090 },
    pools: false,
    intervalMs: 1,
    timeoutMs: 20,
    rise: options.rise ?? 2,
    fall: options.fall ?? 2,
    resyncMs: options.resyncMs ?? 60_000,
    action: (ready) => (calls.push(ready ? "up" : "down"), Promise.resolve(true)),
    target: "t",
    fetch,
    log: () => {},
    signal: stop.signal,
  });
  expect(code).toBe(0);
  return calls;
}

describe("runReadinessWatch", () => {
  test("the first answer is told at once; then fall bad answers in a row take it down, rise good ones bring it up", async () => {
    expect(await watch([true, false, true, false, false, true, true, true])).toEqual(["up", "down", "up", "down"]);
  });

  test("no answer within the timeout (a frozen tenbin) counts as not ready", async () => {
    expect(await watch([true, "hang", "hang", true], { fall: 2 })).toEqual(["up", "down", "down"]);
  });

  test("resyncMs 0 tells the same state every round (a restarted engine learns it again)", async () => {
    expect(await watch([true, true, true], { resyncMs: 0 })).toEqual(["up", "up", "up", "down"]);
  });
});

describe("actions", () => {
  test("trackFileAction writes 0 or 1 only when the file says otherwise", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tenbin-track-")), "ready");
    const action = trackFileAction(file, () => {});
    expect(await action(true)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("0\n");
    writeFileSync(file, "1\n"); // keepalived's init_file 1 overwrite at a restart
    expect(await action(true)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("0\n");
    expect(await action(false)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("1\n");
    expect(await trackFileAction(join(file, "no-dir", "x"), () => {})(true)).toBe(false);
  });

  test("birdAction runs `birdc enable|disable PROTOCOL` and trusts only BIRD's answer naming it", async () => {
    const logs: string[] = [];
    // A stand-in for birdc that answers as BIRD does: "<protocol>: enabled".
    const fake = ["sh", "-c", 'echo "$1: ${0}d"'];
    expect(await birdAction(fake, "tenbin_service", (l) => logs.push(l))(true)).toBe(true);
    expect(await birdAction(fake, "tenbin_service", (l) => logs.push(l))(false)).toBe(true);
    const refusing = ["sh", "-c", 'echo "syntax error"'];
    expect(await birdAction(refusing, "tenbin_service", (l) => logs.push(l))(true)).toBe(false);
    expect(logs).toEqual(["birdc enable tenbin_service failed: syntax error"]);
  });
});
