/**
 * The run-time state of one server: what changes while tenbin runs (health, in-flight count, EWMA,
 * drain). Configuration stays immutable in `ServerConfig`; this object is kept across reloads by the
 * `ServerRegistry` as long as the server keeps its address.
 */
import type { ServerConfig } from "../config/schema.ts";
import type { Clock } from "../util/clock.ts";
import { LatencyHistogram } from "../observe/metrics.ts";

/** Why a server is not taking traffic, or "up". */
export type ServerStatus = "up" | "down" | "draining" | "disabled" | "ejected";

export class ServerState {
  /** `host:port` (with scheme for non-http), the key that survives reloads. */
  readonly key: string;
  readonly name: string;
  /** Origin used to build upstream URLs, e.g. `http://127.0.0.1:8080`. */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: string;
  config: ServerConfig;
  /** Position in the pool's server list (file order). */
  index = 0;

  /** Weight set by the admin API; overrides the configured weight until the config changes. */
  weightOverride: number | undefined = undefined;
  /** Drain set at run time; `config.drain` also drains. */
  drainOverride: boolean | undefined = undefined;
  disabled = false;

  /** Active health verdict. */
  healthy = true;
  /** Passive outlier detection: ejected until this clock time. */
  ejectedUntil = 0;
  /** Clock time the server last became available (slow start ramps from here). */
  upSince = Number.NEGATIVE_INFINITY;
  /** Slow start duration of its pool, in ms (0 = off). */
  slowStartMs = 0;

  /** Requests (or L4 connections) in flight now. */
  inFlight = 0;
  /** EWMA of time to first response byte in ms; -1 until the first sample. */
  ewmaMs = -1;
  /** Clock time of the last EWMA sample. */
  ewmaAt = 0;

  // Counters, read by the admin plane.
  requests = 0;
  responses1xx = 0;
  responses2xx = 0;
  responses3xx = 0;
  responses4xx = 0;
  responses5xx = 0;
  failures = 0;
  lastReason = "";
  /** Time to first response byte, bucketed for `/metrics` (preallocated: no work per label). */
  readonly latency = new LatencyHistogram();

  readonly #clock: Clock;

  constructor(config: ServerConfig, clock: Clock) {
    const url = new URL(config.url);
    this.config = config;
    this.protocol = url.protocol.replace(/:$/, "");
    this.host = url.hostname.replace(/^\[|\]$/g, "");
    const defaultPort = this.protocol === "https" ? 443 : 80;
    this.port = url.port === "" ? defaultPort : Number(url.port);
    const hostPort = url.hostname.includes(":") || url.hostname.startsWith("[")
      ? `${url.hostname.startsWith("[") ? url.hostname : `[${url.hostname}]`}:${this.port}`
      : `${url.hostname}:${this.port}`;
    this.origin = `${this.protocol}://${hostPort}`;
    this.key = this.origin;
    this.name = config.name ?? hostPort;
    this.#clock = clock;
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** Weight in force: admin override, else config. */
  get weight(): number {
    return this.weightOverride ?? this.config.weight;
  }

  get draining(): boolean {
    return this.drainOverride ?? this.config.drain;
  }

  get backup(): boolean {
    return this.config.backup;
  }

  get maxConns(): number {
    return this.config.max_conns;
  }

  /** Whether the server may take a new request at all (full or not). */
  isUsable(now = this.#clock.now()): boolean {
    return this.healthy && !this.disabled && !this.draining && this.ejectedUntil <= now && this.weight > 0;
  }

  /** Whether the server is at its `max_conns`. */
  isFull(): boolean {
    const max = this.config.max_conns;
    return max > 0 && this.inFlight >= max;
  }

  /** Usable and not full: what every balancer asks before picking. */
  isAvailable(now = this.#clock.now()): boolean {
    return this.isUsable(now) && !this.isFull();
  }

  /**
   * Weight after slow start: ramps linearly from 1/20 of the weight to the full weight over
   * `slowStartMs` after the server came up (HAProxy `slowstart`).
   */
  effectiveWeight(now = this.#clock.now()): number {
    const w = this.weight;
    if (this.slowStartMs <= 0 || w === 0) return w;
    const elapsed = now - this.upSince;
    if (elapsed >= this.slowStartMs) return w;
    const fraction = Math.max(0.05, elapsed / this.slowStartMs);
    return w * fraction;
  }

  /** A state name for humans and the admin plane. */
  status(now = this.#clock.now()): ServerStatus {
    if (this.disabled) return "disabled";
    if (!this.healthy) return "down";
    if (this.ejectedUntil > now) return "ejected";
    if (this.draining) return "draining";
    return "up";
  }

  /** Records the time to first byte of one response in the EWMA (decay = time constant in ms). */
  observeLatency(ms: number, decayMs: number, now = this.#clock.now()): void {
    if (this.ewmaMs < 0) {
      this.ewmaMs = ms;
    } else {
      const dt = Math.max(0, now - this.ewmaAt);
      const w = decayMs > 0 ? Math.exp(-dt / decayMs) : 0;
      this.ewmaMs = this.ewmaMs * w + ms * (1 - w);
    }
    this.ewmaAt = now;
  }

  /** Counts a response by status class. */
  countStatus(status: number): void {
    if (status >= 500) this.responses5xx++;
    else if (status >= 400) this.responses4xx++;
    else if (status >= 300) this.responses3xx++;
    else if (status >= 200) this.responses2xx++;
    else this.responses1xx++;
  }
}
