/**
 * A process-wide cap on HTTP probes in flight. Probes and forwarded requests share the runtime's
 * fetch client, and Bun's runs at most 256 requests at once (BUN_CONFIG_MAX_HTTP_REQUESTS); the rest
 * wait in its queue. Uncapped, 256 servers whose health endpoint hangs hold every one of those slots
 * until their probe timeout, and client requests queue behind them: bench/health-load.ts measured p99
 * 10 ms → 400 ms. With the cap, at most `max` slots go to probes; when more probes are due they wait
 * here, before their timeout starts, so waiting is never counted as a failure — a hanging fleet is
 * merely probed less often.
 */
import type { Clock } from "../../util/clock.ts";
import type { ProbeFn, ProbeTarget } from "./probe-target.ts";
import { runProbe, type ProbeResult } from "./run-probe.ts";

/** Hands out at most `max` probe slots; waiters are served in arrival order. */
export class ProbeLimiter {
  readonly max: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    if (!(max >= 1)) throw new Error(`bad probe limit "${max}"; expected at least 1`);
    this.max = max;
  }

  /** Slots in use. */
  get busy(): number {
    return this.#busy;
  }

  /** Probes waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Resolves true once the caller holds a slot (call `release()` after), false if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#busy < this.max) {
      this.#busy++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      };
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(grant);
        if (at >= 0) this.#waiting.splice(at, 1);
        resolve(false);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  /** Gives a slot back, to the oldest waiter if there is one. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next(); // the slot passes on: busy stays the same
    else this.#busy--;
  }
}

/**
 * The limiter every ActiveHealth uses unless told otherwise: a quarter of Bun's fetch slots, which
 * still lets 64 hanging probes a second through at a 1 s timeout.
 */
export const sharedProbeLimiter = new ProbeLimiter(64);

/**
 * `runProbe` once `limiter` grants a slot, so the timeout starts when the probe does. The slot is
 * held until the probe itself settles, not merely until runProbe answers at the timeout: an aborted
 * fetch keeps its place in the runtime until it unwinds. Resolves undefined when `controller` aborts
 * while waiting (stop).
 */
export async function runLimitedProbe(
  limiter: ProbeLimiter,
  probe: ProbeFn,
  target: ProbeTarget,
  timeoutMs: number,
  clock: Clock,
  controller: AbortController,
): Promise<ProbeResult | undefined> {
  if (!(await limiter.acquire(controller.signal))) return undefined;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    limiter.release();
  };
  const tracked: ProbeFn = (t, signal) => {
    try {
      const pending = probe(t, signal);
      pending.then(release, release);
      return pending;
    } catch (err) {
      release();
      throw err;
    }
  };
  return await runProbe(tracked, target, timeoutMs, clock, controller);
}
