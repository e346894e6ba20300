/** Time and randomness are injected so tests never sleep and never flake. */

/** Milliseconds since an arbitrary origin, monotonic for the life of the process. */
export interface Clock {
  now(): number;
}

/** `turnNow`'s reading, or -1 once the microtasks queued before its forgetting ran. */
let turnTime = -1;
const forgetTurn = (): void => {
  turnTime = -1;
};

/**
 * `performance.now()`, read once per turn of the event loop: the first call reads the clock, and
 * later calls return the same reading until the microtasks queued before that first call (and the
 * one it queues) have run. A proxied request read the clock ten times, six of them in the one
 * synchronous step from its head to its write upstream; at ~39 ns a read (Bun 1.4.5) that was
 * ~0.3 µs per request. Good for deadlines, idle times and latencies in milliseconds; not for
 * timing synchronous work (use `performance.now()` there), which it would see as taking no time.
 */
export function turnNow(): number {
  if (turnTime < 0) {
    turnTime = performance.now();
    queueMicrotask(forgetTurn);
  }
  return turnTime;
}

/** The process clock: `turnNow`, read once per turn of the event loop. */
export const systemClock: Clock = { now: turnNow };

/**
 * `performance.now()` at every call, for code that reads the clock once per event (the TCP and UDP
 * relays, on every chunk): there `turnNow`'s queued microtask would cost more than it saves.
 */
export const directClock: Clock = { now: () => performance.now() };

/** A clock that only moves when a test says so. */
export class FakeClock implements Clock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A uniform number in [0, 1), like `Math.random`. */
export type Random = () => number;

/** A seeded generator (mulberry32) for reproducible tests and benchmarks. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
