/**
 * The messages between the primary and its worker processes (`workers: N`). They travel over the
 * runtime's IPC channel as structured clones, so a `Config` crosses as it is. Both ends are this
 * same program; the guards below only sort messages by `type`.
 */
import type { Config } from "../config/schema.ts";
import type { CounterSnapshot } from "./counters.ts";
import type { RateResultMessage, RateTakeMessage } from "./rate-sync.ts";

/**
 * What the primary decides about one server and every worker must follow: the active health
 * verdict and the admin plane's run-time overrides. (Passive ejection stays per process: each
 * process sees the failures of its own requests.)
 */
export interface ServerHealth {
  pool: string;
  /** `ServerState.key` (origin), unique within the pool. */
  key: string;
  healthy: boolean;
  /** Admin drain override; null when the config's `drain` rules. */
  drain: boolean | null;
  disabled: boolean;
  /** Admin weight override; null when the config's `weight` rules. */
  weight: number | null;
}

/** Primary → worker. */
export type PrimaryMessage =
  /** The answer to `hello`: the config in force (ports pinned) and every server's state. */
  | { type: "init"; config: Config; health: ServerHealth[] }
  /** Servers whose state changed since the last message. */
  | { type: "health"; changes: ServerHealth[] }
  /** The primary switched to `config`; switch too. */
  | { type: "reload"; config: Config }
  | { type: "reopen-logs" }
  /** The verdict on a worker's rate limit question (rate-sync.ts). */
  | RateResultMessage
  /** Stop gracefully (in-flight requests finish, up to `shutdown_timeout`) and exit. */
  | { type: "stop" };

/** Worker → primary. */
export type WorkerMessage =
  /** The worker runs and waits for `init`. */
  | { type: "hello"; pid: number }
  /** Its listeners are bound. */
  | { type: "ready"; pid: number }
  /** Its counters, sent each second. */
  | { type: "counters"; snapshot: CounterSnapshot }
  /** The outcome of a `reload`. */
  | { type: "reloaded"; ok: boolean; message: string }
  /** A rate limit question: the primary owns the buckets (rate-sync.ts). */
  | RateTakeMessage;

const PRIMARY_TYPES = new Set(["init", "health", "reload", "reopen-logs", "stop", "rate-result"]);
const WORKER_TYPES = new Set(["hello", "ready", "counters", "reloaded", "rate-take"]);

/** Whether `message` is one the primary sends. */
export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return typeof message === "object" && message !== null && PRIMARY_TYPES.has((message as { type?: unknown }).type as string);
}

/** Whether `message` is one a worker sends. */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return typeof message === "object" && message !== null && WORKER_TYPES.has((message as { type?: unknown }).type as string);
}
