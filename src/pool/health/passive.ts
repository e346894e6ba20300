/**
 * Passive outlier detection: the forward path reports each exchange's outcome, and a server that fails
 * `consecutive_failures` times in a row is ejected for a while (Envoy's consecutive-5xx detector).
 *
 * Rules, in the order they apply:
 * - A failure is a connect error or timeout (`onFailure`) or a status in `failure_statuses`
 *   (`onStatus`); any other status and `onSuccess` reset the count.
 * - Outcomes reported while the server is ejected are ignored: they belong to requests that started
 *   before the ejection.
 * - The n-th ejection in a row lasts `eject_for × 2^(n-1)`, at most `max_eject_for`. The doubling
 *   resets to `eject_for` when a success arrives after the server has stayed in service, without being
 *   ejected again, for as long as its last ejection lasted.
 * - An ejection that would make more than `max_ejected_percent` of the pool's servers ejected does not
 *   happen, nor (unless the percent is 100) one that would leave no other usable server: a struggling
 *   server is better than none. It is logged once per run of failures.
 * - The ejection ends by itself (`ServerState.isUsable` compares `ejectedUntil` with now), or earlier
 *   when active probes pass `rise` times in a row (ActiveHealth clears `ejectedUntil`) — but only when
 *   the run of failures was connect errors and timeouts, which a probe tests again. A run with a
 *   failing status lasts its full time: a health endpoint that passes says nothing about the statuses
 *   real requests got (it passed all along), so readmitting on it would defeat the ejection.
 *   `upSince` is set to the end of the ejection so slow start ramps from there.
 * - A reload keeps each staying server's counters (`previous`): the doubling level, a run of
 *   failures and the ejection count carry on as if the config had not changed.
 */
import type { OutlierConfig } from "../../config/schema.ts";
import type { Logger } from "../../observe/log.ts";
import { systemClock, type Clock } from "../../util/clock.ts";
import type { ServerState } from "../server-state.ts";
import { compileStatusList, type StatusMatcher } from "./status-match.ts";

/** Outlier counters of one server, for the admin plane. */
export interface OutlierStats {
  /** Failures in a row so far. */
  consecutiveFailures: number;
  /** Ejections since start. */
  ejections: number;
  /** Ejections in a row without a reset: the next one lasts `eject_for × 2^level`. */
  level: number;
  /** Length of the last ejection in ms (0 before the first). */
  lastEjectForMs: number;
  /** Clock time the last ejection was planned to end. */
  lastEjectEnd: number;
  /** Ejections refused by `max_ejected_percent` or because it was the last usable server. */
  refused: number;
}

/** What a PassiveOutlier is built from: one pool's servers and its `outlier` section. */
export interface PassiveOutlierOptions {
  poolName: string;
  /** Every server of the pool, for `max_ejected_percent`. */
  servers: readonly ServerState[];
  config: OutlierConfig;
  logger: Logger;
  /** Defaults to the servers' clock. */
  clock?: Clock;
  /**
   * The same pool's detector before a reload: servers that stay (the same `ServerState`, kept by
   * the registry) keep their counters, shared with it so late outcomes of old requests still count.
   */
  previous?: PassiveOutlier | undefined;
}

interface Entry extends OutlierStats {
  /** The current run of failures was refused and logged already. */
  refusalLogged: boolean;
  /** The current run of failures includes a failing status. */
  runHasStatus: boolean;
  /** The current (or last) ejection may be ended early by passing probes. */
  probesMayReadmit: boolean;
}

/** Counts each server's outcomes on the forward path and ejects the ones that keep failing. */
export class PassiveOutlier {
  readonly poolName: string;
  readonly #config: OutlierConfig;
  readonly #servers: readonly ServerState[];
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #isFailureStatus: StatusMatcher;
  readonly #entries = new Map<ServerState, Entry>();

  constructor(options: PassiveOutlierOptions) {
    this.poolName = options.poolName;
    this.#config = options.config;
    this.#servers = options.servers;
    this.#logger = options.logger;
    this.#clock = options.clock ?? options.servers[0]?.clock ?? systemClock;
    this.#isFailureStatus = compileStatusList(options.config.failure_statuses);
    const previous = options.previous;
    for (const server of options.servers) {
      const kept = previous ? previous.#entries.get(server) : undefined;
      if (kept) this.#entries.set(server, kept);
      else this.#entry(server);
    }
  }

  /** A response (or connection) that went well. Cheap: one map lookup on the usual path. */
  onSuccess(server: ServerState): void {
    const entry = this.#entry(server);
    entry.consecutiveFailures = 0;
    entry.refusalLogged = false;
    entry.runHasStatus = false;
    if (entry.level > 0 && this.#clock.now() >= entry.lastEjectEnd + entry.lastEjectForMs) entry.level = 0;
  }

  /** A connect error or timeout, with the reason the proxy logged (`connect ECONNREFUSED ...`). */
  onFailure(server: ServerState, reason: string): void {
    this.#fail(server, reason, false);
  }

  /** A response status: a failure when it is in `failure_statuses`, else a success. */
  onStatus(server: ServerState, status: number): void {
    if (this.#isFailureStatus(status)) this.#fail(server, `status ${status}`, true);
    else this.onSuccess(server);
  }

  /**
   * Whether passing active probes may end this server's ejection before `ejectedUntil`: only when
   * it was ejected for connect errors and timeouts, never for failing statuses (see the file comment).
   */
  probesMayReadmit(server: ServerState): boolean {
    return this.#entries.get(server)?.probesMayReadmit ?? true;
  }

  /** The outlier counters of a server. */
  stats(server: ServerState): Readonly<OutlierStats> | undefined {
    return this.#entries.get(server);
  }

  #fail(server: ServerState, reason: string, byStatus: boolean): void {
    const now = this.#clock.now();
    if (server.ejectedUntil > now) return;
    const entry = this.#entry(server);
    entry.consecutiveFailures++;
    if (byStatus) entry.runHasStatus = true;
    if (entry.consecutiveFailures >= this.#config.consecutive_failures) this.#eject(server, entry, reason, now);
  }

  #entry(server: ServerState): Entry {
    let entry = this.#entries.get(server);
    if (!entry) {
      entry = { consecutiveFailures: 0, ejections: 0, level: 0, lastEjectForMs: 0, lastEjectEnd: 0, refused: 0, refusalLogged: false, runHasStatus: false, probesMayReadmit: true };
      this.#entries.set(server, entry);
    }
    return entry;
  }

  #eject(server: ServerState, entry: Entry, reason: string, now: number): void {
    const failures = `${entry.consecutiveFailures} consecutive failure${entry.consecutiveFailures === 1 ? "" : "s"}`;
    const refusal = this.#refusal(server, now);
    if (refusal !== undefined) {
      entry.refused++;
      if (!entry.refusalLogged) {
        entry.refusalLogged = true;
        this.#logger.warn(`${server.name} not ejected: ${failures}, last: ${reason}; ${refusal}`, {
          pool: this.poolName,
          server: server.key,
        });
      }
      return;
    }
    const { eject_for: base, max_eject_for: max } = this.#config;
    const ejectFor = Math.min(max, base * 2 ** entry.level);
    if (ejectFor < max) entry.level++;
    server.ejectedUntil = now + ejectFor;
    server.upSince = server.ejectedUntil;
    server.lastReason = `ejected: ${failures}, last: ${reason}`;
    entry.probesMayReadmit = !entry.runHasStatus;
    entry.consecutiveFailures = 0;
    entry.refusalLogged = false;
    entry.runHasStatus = false;
    entry.ejections++;
    entry.lastEjectForMs = ejectFor;
    entry.lastEjectEnd = now + ejectFor;
    this.#logger.warn(`${server.name} ejected for ${formatMs(ejectFor)}: ${failures}, last: ${reason}`, {
      pool: this.poolName,
      server: server.key,
    });
  }

  /** Why ejecting `server` now is not allowed, or undefined when it is. */
  #refusal(server: ServerState, now: number): string | undefined {
    const percent = this.#config.max_ejected_percent;
    if (percent >= 100) return undefined;
    const total = this.#servers.length;
    let ejected = 0;
    let otherUsable = 0;
    for (const s of this.#servers) {
      if (s === server) continue;
      if (s.ejectedUntil > now) ejected++;
      else if (s.isUsable(now)) otherUsable++;
    }
    if ((ejected + 1) * 100 > percent * total) {
      return `max_ejected_percent ${percent} reached (${ejected} of ${total} servers ejected)`;
    }
    if (otherUsable === 0) return "no other server is in service";
    return undefined;
  }
}

/** `500ms`, `10s`, `1.5s`, `5m`, `2m30s`: how ejection lengths read in logs. */
function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000 || ms % 1000 !== 0) return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = (ms % 60_000) / 1000;
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}
