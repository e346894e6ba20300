/**
 * Per-server-list state for balancers. A pool hands the same `servers` array to `pick` on every
 * request and builds a new one on reload, so the array's identity is a cheap, allocation-free key.
 * State lives here, never on `ServerState`: those objects survive reloads and may be shared by
 * several pools, each of which needs its own rotation.
 */
import type { ServerState } from "../server-state.ts";

/**
 * Caches one value per servers array (weakly, so a pool dropped by a reload takes its state with
 * it). The last array is remembered apart so the common case costs one comparison.
 */
export class ArrayCache<T> {
  readonly #make: (servers: readonly ServerState[]) => T;
  readonly #fits: (value: T, servers: readonly ServerState[]) => boolean;
  readonly #byArray = new WeakMap<readonly ServerState[], T>();
  #lastArray: readonly ServerState[] | undefined = undefined;
  #lastValue: T | undefined = undefined;

  /**
   * @param make builds the state for a servers array seen for the first time.
   * @param fits tells whether a cached value still matches its array (arrays are meant to be
   *   immutable; this guards against one that was mutated in place, e.g. by a length check).
   */
  constructor(
    make: (servers: readonly ServerState[]) => T,
    fits: (value: T, servers: readonly ServerState[]) => boolean = () => true,
  ) {
    this.#make = make;
    this.#fits = fits;
  }

  /** The state of `servers`, made on first use or when it no longer fits. */
  get(servers: readonly ServerState[]): T {
    if (servers === this.#lastArray && this.#fits(this.#lastValue as T, servers)) return this.#lastValue as T;
    let value = this.#byArray.get(servers);
    if (value === undefined || !this.#fits(value, servers)) {
      value = this.#make(servers);
      this.#byArray.set(servers, value);
    }
    this.#lastArray = servers;
    this.#lastValue = value;
    return value;
  }
}

/** A float per server position, sized to the array: the usual per-array balancer state. */
export function perServerFloats(): ArrayCache<Float64Array> {
  return new ArrayCache<Float64Array>(
    (servers) => new Float64Array(servers.length),
    (value, servers) => value.length === servers.length,
  );
}
