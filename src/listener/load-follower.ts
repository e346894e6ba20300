/**
 * Memory that follows the load: the runtime's collector is lazy, so after a crowd of connections
 * (slow readers, a burst) leaves, the memory it used stays in the process for a long while. This
 * asks for a full collection once the number of open client connections has moved a lot (up or
 * down) and then held still for a tick; under steady load, however busy, it does nothing. The same
 * goes for the number of connections blocked on a slow peer, where the runtime counts them: a
 * crowd of slow readers first pushes megabytes into each reader's kernel buffers, and the garbage
 * of that burst (the reads passed on) stays until the collector runs, which it does only when
 * something allocates (bench/pressure-slow-readers.ts: 200 readers, +43 % of idle for 6 s after the
 * burst, +9 % after the collection). Reloads leave garbage too (the old generation, the config's
 * parse): one collection follows once they have stopped for a while.
 */

/** How often the counts are looked at (a count and a comparison: cheap). */
const TICK_MS = 1000;
/** Quiet time after the last reload before its collection (a burst of reloads gets one). */
const AFTER_RELOAD_MS = 2000;
/** A move smaller than this many connections is not worth a collection. */
const MIN_MOVE = 32;

/** One watched count: its value at the last collection it asked for, and at the last tick. */
class Watch {
  readonly count: () => number;
  settled = 0;
  previous = 0;

  constructor(count: () => number) {
    this.count = count;
  }

  /** True when the count moved a lot since its last collection and held still since the last tick. */
  moved(): boolean {
    const now = this.count();
    const previous = this.previous;
    this.previous = now;
    const moved = Math.abs(now - this.settled);
    const still = Math.abs(now - previous) <= Math.max(2, previous * 0.1);
    if (!still || moved < Math.max(MIN_MOVE, Math.max(now, this.settled) / 2)) return false;
    this.settled = now;
    return true;
  }
}

/** See the file comment. */
export class LoadFollower {
  readonly #watches: Watch[];
  readonly #release: () => void;
  readonly #afterReloadMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #afterReload: ReturnType<typeof setTimeout> | undefined;

  /**
   * `count()`: open client connections now; `release()`: the runtime's full collection;
   * `blocked()`: connections waiting for a slow peer now (`Runtime.blockedConnections`).
   */
  constructor(count: () => number, release: () => void, afterReloadMs = AFTER_RELOAD_MS, blocked?: () => number) {
    this.#watches = blocked ? [new Watch(count), new Watch(blocked)] : [new Watch(count)];
    this.#release = release;
    this.#afterReloadMs = afterReloadMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.tick(), TICK_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#afterReload);
    this.#afterReload = undefined;
  }

  /**
   * A reload finished: one full collection once no other has followed for `afterReloadMs`. 10,000
   * SIGHUPs in a row: RSS 5 s after the last was 23 % above the start without it, 9 % with it
   * (bench/pressure-reloads.ts).
   */
  reloaded(): void {
    clearTimeout(this.#afterReload);
    this.#afterReload = setTimeout(() => {
      this.#afterReload = undefined;
      this.#release();
    }, this.#afterReloadMs);
    (this.#afterReload as { unref?: () => void }).unref?.();
  }

  /** One look (the timer's; tests call it). True when it asked for a collection. */
  tick(): boolean {
    let release = false;
    for (const watch of this.#watches) if (watch.moved()) release = true; // each looks every tick
    if (release) this.#release();
    return release;
  }
}
