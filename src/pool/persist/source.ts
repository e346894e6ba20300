/**
 * Source-address persistence (LVS `persistent`): a client — or its whole subnet with a netmask —
 * keeps the server it was given for `timeoutMs` after its last request. The table is a Map used
 * as an LRU: touching an entry moves it to the end, so the oldest entry is always first, eviction
 * takes it in O(1) and a sweep stops at the first live entry.
 */
import type { Clock } from "../../util/clock.ts";
import { clientGroupKey } from "./client-group.ts";

/** Options of a source persistence table (see `sticky.source_ip` in the config). */
export interface SourceAffinityOptions {
  /** A client keeps its server this long after its last use, in ms. */
  timeoutMs: number;
  /**
   * Prefix length clients are grouped by: for IPv4 (capped at 32) and, unless `netmask6` is set,
   * for IPv6 too. Default: each address alone.
   */
  netmask?: number | undefined;
  /** IPv6 prefix length, when IPv6 clients should be grouped differently (e.g. 64 next to a /24). */
  netmask6?: number | undefined;
  /** Bound of the table; the least recently used entry goes first. */
  maxEntries: number;
  clock: Clock;
}

interface Entry {
  server: string;
  lastUsed: number;
}

/** Client (group) → server key, with expiry and a size bound. */
export class SourceAffinity {
  readonly #entries = new Map<string, Entry>();
  readonly #timeoutMs: number;
  readonly #v4Prefix: number;
  readonly #v6Prefix: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;

  constructor(options: SourceAffinityOptions) {
    if (!(options.maxEntries >= 1)) throw new Error(`Source persistence needs max entries of at least 1, got "${options.maxEntries}"`);
    this.#timeoutMs = options.timeoutMs;
    this.#v4Prefix = Math.min(32, options.netmask ?? 32);
    this.#v6Prefix = Math.min(128, options.netmask6 ?? options.netmask ?? 128);
    this.#maxEntries = options.maxEntries;
    this.#clock = options.clock;
  }

  /** Entries held now, expired ones not yet removed included. */
  get size(): number {
    return this.#entries.size;
  }

  /** The key a client address is stored under (its group). */
  keyOf(clientIp: string): string {
    return clientGroupKey(clientIp, this.#v4Prefix, this.#v6Prefix);
  }

  /** The server key remembered for the client, or undefined. Does not refresh it (see `touch`). */
  get(clientIp: string): string | undefined {
    return this.#live(this.keyOf(clientIp), this.#clock.now())?.server;
  }

  /** Marks the client's entry as used now; false when there is none (or it expired). */
  touch(clientIp: string): boolean {
    const key = this.keyOf(clientIp);
    const now = this.#clock.now();
    const entry = this.#live(key, now);
    if (entry === undefined) return false;
    entry.lastUsed = now;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return true;
  }

  /** Remembers `serverKey` for the client (and its group), as used now. */
  set(clientIp: string, serverKey: string): void {
    const key = this.keyOf(clientIp);
    this.#entries.delete(key);
    this.#entries.set(key, { server: serverKey, lastUsed: this.#clock.now() });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Forgets the client (its group); true when there was an entry. */
  delete(clientIp: string): boolean {
    return this.#entries.delete(this.keyOf(clientIp));
  }

  /**
   * Removes expired entries; returns how many. Expired entries are also dropped when looked up,
   * this keeps the table from holding clients that never come back.
   */
  sweep(now = this.#clock.now()): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      // LRU order: the first entry still alive ends the expired prefix.
      if (now - entry.lastUsed < this.#timeoutMs) break;
      this.#entries.delete(key);
      removed++;
    }
    return removed;
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now - entry.lastUsed >= this.#timeoutMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
