/**
 * Active health checking of one pool: one chain of timers per server (never two probes of a server in
 * flight), rise/fall hysteresis, one log line per state change. It only writes `ServerState`
 * (`healthy`, `upSince`, `lastReason`, `ejectedUntil`); the request path reads those and never waits
 * on a probe.
 *
 * Passive ejections and active probes meet here, in one place: when a server that the outlier
 * detector ejected passes `rise` probes in a row *after* the ejection began, ActiveHealth clears
 * `ejectedUntil` itself (and logs "readmitted"), unless `mayReadmit` says the probes cannot vouch for
 * that ejection (PassiveOutlier.probesMayReadmit: not for failing statuses). PassiveOutlier needs no
 * other hook: it reads `ejectedUntil` afresh on every event.
 */
import type { HealthConfig } from "../../config/schema.ts";
import type { Logger } from "../../observe/log.ts";
import type { RuntimeFetch, UpstreamTls } from "../../runtime/types.ts";
import { systemClock, type Clock, type Random } from "../../util/clock.ts";
import type { ServerState } from "../server-state.ts";
import { createHttpProbe, DEFAULT_HTTP_PROBE } from "./http-probe.ts";
import { runLimitedProbe, sharedProbeLimiter, type ProbeLimiter } from "./probe-limiter.ts";
import { probeTarget, type ProbeFn, type ProbeTarget } from "./probe-target.ts";
import { runProbe, type ProbeResult } from "./run-probe.ts";
import { createTcpProbe } from "./tcp-probe.ts";

export type { ProbeResult } from "./run-probe.ts";

/** Counters of one server's probes, for the admin plane. */
export interface HealthStats {
  probes: number;
  failures: number;
  /** Up ↔ down changes. */
  transitions: number;
  /** Passive ejections ended early by passing probes. */
  readmissions: number;
  consecutivePasses: number;
  consecutiveFailures: number;
  lastLatencyMs: number;
  /** Clock time of the last probe's verdict; -1 before the first. */
  lastProbeAt: number;
  lastReason: string;
}

/** Told about every up/down change (and readmission, as `up`), after it was applied and logged. */
export type HealthChangeListener = (server: ServerState, up: boolean, reason: string) => void;

/** What an ActiveHealth is built from: one pool's servers and its `health` section. */
export interface ActiveHealthOptions {
  poolName: string;
  servers: readonly ServerState[];
  config: HealthConfig;
  /** The runtime's upstream fetch (no redirects followed, no decompression). */
  fetch: RuntimeFetch;
  logger: Logger;
  /** Defaults to the servers' clock, so `ejectedUntil` and `upSince` agree with `isUsable()`. */
  clock?: Clock;
  random?: Random;
  onChange?: HealthChangeListener;
  /** TLS settings for https:// servers. */
  tls?: UpstreamTls;
  /**
   * Servers that keep their current `healthy` verdict instead of `config.initial` at `start()`. A
   * reload passes the servers the registry already knew, so a reload never flaps a pool.
   */
  keepState?: (server: ServerState) => boolean;
  /** Whether passing probes may end this server's passive ejection early; always, when absent. */
  mayReadmit?: (server: ServerState) => boolean;
  /** Caps HTTP probes in flight (they share the fetch client with requests); a process-wide one by default. */
  limiter?: ProbeLimiter;
}

/** The first probe of each server starts within this many ms of `start()` (or one interval). */
const FIRST_PROBE_SPREAD_MS = 500;

interface Slot {
  readonly server: ServerState;
  readonly target: ProbeTarget;
  /** undefined: nothing to probe with (udp:// without a configured probe). */
  readonly probe: ProbeFn | undefined;
  readonly stats: HealthStats;
  timer: ReturnType<typeof setTimeout> | undefined;
  controller: AbortController | undefined;
  /** The `ejectedUntil` value passes are being counted against, and the passes since it appeared. */
  ejectSeen: number;
  ejectPasses: number;
}

/** Probes every server of one pool on its own timer and keeps `ServerState.healthy` current. */
export class ActiveHealth {
  readonly poolName: string;
  readonly #config: HealthConfig;
  readonly #logger: Logger;
  /** A probe was skipped for tenbin's own fd shortage, and that was logged. */
  #shortLogged = false;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #onChange: HealthChangeListener | undefined;
  readonly #keepState: ((server: ServerState) => boolean) | undefined;
  readonly #mayReadmit: ((server: ServerState) => boolean) | undefined;
  readonly #limiter: ProbeLimiter;
  readonly #slots = new Map<ServerState, Slot>();
  readonly #explicitProbe: ProbeFn | undefined;
  readonly #httpProbe: ProbeFn;
  readonly #tcpProbe: ProbeFn;
  #running = false;
  /** Bumped by start() and stop(): a probe that finishes under an older generation is dropped. */
  #generation = 0;

  /** Throws on a config it cannot probe with (an invalid `expect_body.regex`). */
  constructor(options: ActiveHealthOptions) {
    const { config } = options;
    this.poolName = options.poolName;
    this.#config = config;
    this.#logger = options.logger;
    this.#clock = options.clock ?? options.servers[0]?.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#onChange = options.onChange;
    this.#keepState = options.keepState;
    this.#mayReadmit = options.mayReadmit;
    this.#limiter = options.limiter ?? sharedProbeLimiter;
    this.#httpProbe = createHttpProbe(config.http ?? DEFAULT_HTTP_PROBE, options.fetch, options.tls);
    this.#tcpProbe = createTcpProbe(config.tcp ?? {});
    this.#explicitProbe = config.http ? this.#httpProbe : config.tcp ? this.#tcpProbe : undefined;
    for (const server of options.servers) {
      this.#slots.set(server, {
        server,
        target: probeTarget(server, config.port),
        probe: this.#probeFor(server),
        stats: { probes: 0, failures: 0, transitions: 0, readmissions: 0, consecutivePasses: 0, consecutiveFailures: 0, lastLatencyMs: 0, lastProbeAt: -1, lastReason: "" },
        timer: undefined,
        controller: undefined,
        ejectSeen: 0,
        ejectPasses: 0,
      });
    }
  }

  /** Whether timers are running. */
  get running(): boolean {
    return this.#running;
  }

  /** Applies `initial` and starts one probe chain per server; the first probes are spread out. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const generation = ++this.#generation;
    const { initial, interval, rise } = this.#config;
    for (const slot of this.#slots.values()) {
      slot.stats.consecutivePasses = 0;
      slot.stats.consecutiveFailures = 0;
      if (!slot.probe) continue;
      if (!this.#keepState?.(slot.server)) {
        slot.server.healthy = initial === "up";
        if (initial === "down") slot.server.lastReason = `initial state down, waiting for ${plural(rise, "passing probe")}`;
      }
      this.#schedule(slot, this.#random() * Math.min(interval, FIRST_PROBE_SPREAD_MS), generation);
    }
  }

  /** Clears every timer and aborts the probes in flight; their results are dropped. */
  stop(): void {
    this.#running = false;
    this.#generation++;
    for (const slot of this.#slots.values()) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.controller?.abort(new Error("health checks stopped"));
      slot.controller = undefined;
    }
  }

  /** Probes a server once, as soon as the limiter allows, without touching its state or counters (`tenbin probe`). */
  async probeOnce(server: ServerState): Promise<ProbeResult> {
    const slot = this.#slots.get(server);
    const probe = slot ? slot.probe : this.#probeFor(server);
    if (!probe) return { ok: true, latencyMs: 0, reason: `not probed: ${server.protocol} server`, skipped: true };
    // Nothing aborts this controller, so the result is always there.
    const result = await this.#limited(probe, slot?.target ?? probeTarget(server, this.#config.port), new AbortController());
    return result ?? { ok: false, latencyMs: 0, reason: "probe aborted" };
  }

  /** The probe counters of a server of this pool. */
  stats(server: ServerState): Readonly<HealthStats> | undefined {
    return this.#slots.get(server)?.stats;
  }

  #probeFor(server: ServerState): ProbeFn | undefined {
    if (this.#explicitProbe) return this.#explicitProbe;
    if (server.protocol === "http" || server.protocol === "https") return this.#httpProbe;
    if (server.protocol === "tcp") return this.#tcpProbe;
    return undefined;
  }

  #schedule(slot: Slot, delayMs: number, generation: number): void {
    slot.timer = setTimeout(() => void this.#tick(slot, generation), delayMs);
  }

  async #tick(slot: Slot, generation: number): Promise<void> {
    slot.timer = undefined;
    const controller = new AbortController();
    slot.controller = controller;
    const result = await this.#limited(slot.probe!, slot.target, controller);
    if (slot.controller === controller) slot.controller = undefined;
    if (generation !== this.#generation || result === undefined) return;
    this.#record(slot, result);
    const { interval, jitter } = this.#config;
    // Interval ± jitter, counted from the probe's start so a slow server keeps its cadence.
    const next = interval * (1 + jitter * (2 * this.#random() - 1));
    this.#schedule(slot, Math.max(0, next - result.latencyMs), generation);
  }

  /** Runs a probe; HTTP probes (fetch) go through the limiter. Undefined: stopped while waiting. */
  #limited(probe: ProbeFn, target: ProbeTarget, controller: AbortController): Promise<ProbeResult | undefined> {
    const { timeout } = this.#config;
    if (probe !== this.#httpProbe) return runProbe(probe, target, timeout, this.#clock, controller);
    return runLimitedProbe(this.#limiter, probe, target, timeout, this.#clock, controller);
  }

  #record(slot: Slot, result: ProbeResult): void {
    const { server, stats } = slot;
    const now = this.#clock.now();
    if (result.localShortage !== undefined) {
      // tenbin's shortage says nothing about the server: no verdict, and one line per episode.
      if (!this.#shortLogged) this.#logger.warn(`probe of ${server.name} not counted: ${result.reason}; no health verdict until descriptors are free`, { pool: this.poolName, server: server.key });
      this.#shortLogged = true;
      return;
    }
    this.#shortLogged = false;
    stats.probes++;
    stats.lastProbeAt = now;
    stats.lastLatencyMs = result.latencyMs;
    if (result.ok) {
      stats.consecutiveFailures = 0;
      stats.consecutivePasses++;
    } else {
      stats.failures++;
      stats.consecutivePasses = 0;
      stats.consecutiveFailures++;
      stats.lastReason = result.reason;
      server.lastReason = result.reason;
    }
    this.#followEjection(slot, result.ok, now);

    const { rise, fall } = this.#config;
    if (server.healthy && stats.consecutiveFailures >= fall) {
      server.healthy = false;
      this.#changed(slot, false, `${plural(stats.consecutiveFailures, "consecutive probe failure")}, last: ${result.reason}`);
    } else if (!server.healthy && stats.consecutivePasses >= rise) {
      server.healthy = true;
      server.upSince = now;
      this.#changed(slot, true, `${plural(stats.consecutivePasses, "consecutive probe")} passed`);
    }
  }

  /** Ends a passive ejection early once `rise` probes passed since it began. */
  #followEjection(slot: Slot, ok: boolean, now: number): void {
    const { server } = slot;
    const until = server.ejectedUntil;
    if (until <= now) {
      slot.ejectSeen = 0;
      return;
    }
    if (until !== slot.ejectSeen) {
      slot.ejectSeen = until;
      slot.ejectPasses = 0;
    }
    if (!ok || this.#mayReadmit?.(server) === false) {
      slot.ejectPasses = 0;
      return;
    }
    if (++slot.ejectPasses < this.#config.rise) return;
    const passes = slot.ejectPasses;
    server.ejectedUntil = 0;
    server.upSince = now;
    slot.ejectSeen = 0;
    slot.ejectPasses = 0;
    slot.stats.readmissions++;
    // A server that is also down comes back through the up transition, which logs for both.
    if (!server.healthy) return;
    const reason = `${plural(passes, "consecutive probe")} passed while ejected`;
    this.#logger.info(`${server.name} readmitted: ${reason}`, { pool: this.poolName, server: server.key });
    this.#notify(server, true, reason);
  }

  #changed(slot: Slot, up: boolean, reason: string): void {
    const { server } = slot;
    slot.stats.transitions++;
    const message = `${server.name} ${up ? "up" : "down"}: ${reason}`;
    const fields = { pool: this.poolName, server: server.key };
    if (up) this.#logger.info(message, fields);
    else this.#logger.warn(message, fields);
    this.#notify(server, up, reason);
  }

  // A throwing listener must not end the server's probe chain.
  #notify(server: ServerState, up: boolean, reason: string): void {
    try {
      this.#onChange?.(server, up, reason);
    } catch (err) {
      this.#logger.error(`health change listener failed: ${err instanceof Error ? err.message : String(err)}`, { pool: this.poolName, server: server.key });
    }
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
