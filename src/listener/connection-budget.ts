/**
 * How many client connections the own HTTP server may hold, so tenbin never runs out of file
 * descriptors under a crowd: at the limit a new connection is answered 503 and closed at once (one
 * accept, one write, one close; no busy loop on EMFILE), and the server and check sockets of
 * connections already open still find descriptors. HAProxy derives its maxconn the same way.
 */

/** Descriptors kept out of the client budget at least: listeners, admin, logs, DNS, the runtime's own. */
const BASE_RESERVE = 64;

/** A count of client connections against a limit, shared by the listeners that use it. */
export class ConnectionBudget {
  /** Changed by a reload; connections above a lowered limit stay until they close. */
  limit: number;
  #open = 0;
  #full = false;
  readonly #onFull: (budget: ConnectionBudget) => void;

  /** `onFull` is told once each time the limit is reached (again after the count fell below 90 %). */
  constructor(limit: number, onFull: (budget: ConnectionBudget) => void = () => {}) {
    this.limit = limit;
    this.#onFull = onFull;
  }

  /** Connections counted now. */
  get open(): number {
    return this.#open;
  }

  /** Counts one more connection; false (and nothing counted) at the limit. */
  take(): boolean {
    if (this.#open >= this.limit) {
      if (!this.#full) {
        this.#full = true;
        this.#onFull(this);
      }
      return false;
    }
    this.#open++;
    return true;
  }

  /** A connection counted by `take` closed. */
  release(): void {
    this.#open--;
    if (this.#full && this.#open < this.limit * 0.9) this.#full = false;
  }
}

/** What the descriptor reserve is sized from. */
export interface FdReserveInput {
  listeners: number;
  /** Servers of every pool: each may have a check socket open at any time. */
  servers: number;
  accessLogs: number;
}

/** Descriptors kept for everything but client connections and the server connection each may have. */
export function fdReserve(input: FdReserveInput): number {
  return BASE_RESERVE + input.listeners + input.servers + input.accessLogs;
}

/**
 * The client connections the fd limit allows: each may hold a server connection too, so half of
 * what the reserve leaves (at least 16, so a tiny limit still serves someone).
 */
export function connectionLimitFor(fdLimit: number, reserve: number): number {
  return Math.max(16, Math.floor((fdLimit - reserve) / 2));
}
