import { describe, expect, test } from "bun:test";
import { AttemptWatch, LISTEN_AFTER_MS, type Schedule } from "../../src/proxy/attempt-watch.ts";
import { FakeClock } from "../../src/util/clock.ts";

/** Timers on a FakeClock: `advance` moves time and runs what fell due, in order. */
function fakeTimers() {
  const clock = new FakeClock(1000);
  let timers: { at: number; fn: () => void; live: boolean }[] = [];
  let armed = 0;
  const schedule: Schedule = (fn, ms) => {
    armed++;
    const timer = { at: clock.now() + ms, fn, live: true };
    timers.push(timer);
    return () => void (timer.live = false);
  };
  const advance = (ms: number) => {
    const end = clock.now() + ms;
    for (let guard = 0; guard < 1000; guard++) {
      const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      clock.advance(due.at - clock.now());
      due.live = false;
      due.fn();
    }
    timers = timers.filter((t) => t.live);
    clock.advance(end - clock.now());
  };
  return { clock, schedule, advance, armed: () => armed, pending: () => timers.filter((t) => t.live).length };
}

/** A client whose signal the test aborts, counting how often tenbin reads it. */
function fakeClient() {
  const gone = new AbortController();
  let reads = 0;
  const req = { get signal() { reads++; return gone.signal; } } as unknown as Request;
  return { req, leave: () => gone.abort(), reads: () => reads };
}

function reasonOf(controller: AbortController): string | undefined {
  return controller.signal.aborted ? (controller.signal.reason as DOMException).name : undefined;
}

describe("AttemptWatch", () => {
  test("aborts an attempt with a TimeoutError at its deadline, not before", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    const controller = new AbortController();
    watch.start(controller, fakeClient().req, 500);
    t.advance(499);
    expect(controller.signal.aborted).toBe(false);
    t.advance(1);
    expect(reasonOf(controller)).toBe("TimeoutError");
    expect(watch.size).toBe(0);
  });

  test("a timeout shorter than the listen delay still fires on time", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    const controller = new AbortController();
    const client = fakeClient();
    watch.start(controller, client.req, 30);
    t.advance(29);
    expect(controller.signal.aborted).toBe(false);
    t.advance(1);
    expect(reasonOf(controller)).toBe("TimeoutError");
    expect(client.reads()).toBe(0);
  });

  test("an attempt answered in time is never aborted and never reads its client's signal", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    const controller = new AbortController();
    const client = fakeClient();
    const node = watch.start(controller, client.req, 500);
    t.advance(20);
    watch.finish(node);
    watch.finish(node); // twice is harmless
    t.advance(10_000);
    expect(controller.signal.aborted).toBe(false);
    expect(client.reads()).toBe(0);
    expect(watch.size).toBe(0);
  });

  test("a client that left early is noticed when the attempt starts listening", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    const controller = new AbortController();
    const client = fakeClient();
    watch.start(controller, client.req, 60_000);
    t.advance(10);
    client.leave();
    t.advance(LISTEN_AFTER_MS - 11);
    expect(controller.signal.aborted).toBe(false);
    t.advance(1);
    expect(reasonOf(controller)).toBe("AbortError");
  });

  test("a listening attempt is aborted as soon as its client leaves, and still times out otherwise", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    const leaving = { controller: new AbortController(), client: fakeClient() };
    const staying = { controller: new AbortController(), client: fakeClient() };
    watch.start(leaving.controller, leaving.client.req, 1000);
    watch.start(staying.controller, staying.client.req, 1000);
    t.advance(LISTEN_AFTER_MS + 50);
    expect(leaving.client.reads()).toBe(1);
    leaving.client.leave();
    expect(reasonOf(leaving.controller)).toBe("AbortError");
    t.advance(1000 - LISTEN_AFTER_MS - 51);
    expect(staying.controller.signal.aborted).toBe(false);
    t.advance(1);
    expect(reasonOf(staying.controller)).toBe("TimeoutError");
  });

  test("attempts with different timeouts expire each at its own deadline", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    const long = new AbortController();
    const short = new AbortController();
    watch.start(long, fakeClient().req, 400);
    t.advance(50);
    watch.start(short, fakeClient().req, 200);
    t.advance(199);
    expect(short.signal.aborted).toBe(false);
    t.advance(1);
    expect(reasonOf(short)).toBe("TimeoutError");
    expect(long.signal.aborted).toBe(false);
    t.advance(150);
    expect(reasonOf(long)).toBe("TimeoutError");
    expect(t.pending()).toBe(0);
  });

  test("many quick attempts share one timer", () => {
    const t = fakeTimers();
    const watch = new AttemptWatch(t.clock, t.schedule);
    for (let i = 0; i < 1000; i++) {
      const node = watch.start(new AbortController(), fakeClient().req, 60_000);
      const next = watch.start(new AbortController(), fakeClient().req, 60_000);
      t.advance(1);
      watch.finish(node);
      watch.finish(next);
    }
    // One timer per listen delay that passed, not one per attempt.
    expect(t.armed()).toBeLessThanOrEqual(1 + Math.ceil(1000 / LISTEN_AFTER_MS));
    t.advance(LISTEN_AFTER_MS);
    expect(watch.size).toBe(0);
    expect(t.pending()).toBe(0);
  });
});
