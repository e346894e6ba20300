/** Time and randomness are injected so tests never sleep and never flake. */

/** Milliseconds since an arbitrary origin, monotonic for the life of the process. */
export interface Clock {
  now(): number;
}

/** The process clock, backed by `performance.now()`. */
export const systemClock: Clock = { now: () => performance.now() };

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
