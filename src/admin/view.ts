/**
 * What the admin plane reads of a running tenbin. `Tenbin` implements it; tests can hand in their
 * own. Everything is read afresh per request, so a reload shows at once.
 */
import type { Config } from "../config/schema.ts";
import type { L4Stats } from "../listener/l4.ts";
import type { MetricsRegistry } from "../observe/metrics.ts";
import type { Pool } from "../pool/pool.ts";
import type { ReloadResult } from "./reloader.ts";
import type { WorkerStatusJson } from "./status.ts";
import type { CertificateStatus } from "../tls/cert-status.ts";

/** A bound listener and its real port. */
export interface AdminListener {
  name: string;
  hostname: string;
  port: number;
  /** Client connections (UDP: flows) open now; undefined where the server does not tell (Bun.serve, Deno.serve). */
  openConnections?: number | undefined;
}

/** The running balancer as the admin plane sees it. */
export interface AdminView {
  /** The config in force. */
  readonly config: Config;
  /** Pools of the config in force. */
  readonly pools: ReadonlyMap<string, Pool>;
  /** Listeners bound now. */
  readonly listeners: readonly AdminListener[];
  readonly metrics: MetricsRegistry;
  /** Counters of the TCP and UDP listeners by name, as the listeners keep them. */
  readonly l4Stats: ReadonlyMap<string, L4Stats>;
  /** Result of the latest reload (or of the initial load). */
  readonly lastReload: ReloadResult | undefined;
  /** False once shutdown began: /healthz then fails so a peer takes over. */
  readonly accepting: boolean;
  /** The processes of `workers: N` and what each served; undefined when one process serves. */
  readonly workers?: readonly WorkerStatusJson[] | undefined;
  /** Certificates served (files and ACME) and ACME hosts waiting for theirs. */
  readonly certificates?: readonly CertificateStatus[] | undefined;
}

/** Everything `createAdminApp` needs. */
export interface AdminDeps {
  view: AdminView;
  /** Reads the config source again and switches to it (the same path as SIGHUP). */
  reload: () => Promise<ReloadResult>;
  logger?: { info(message: string, fields?: Record<string, string | number | boolean | undefined>): void };
  /** For `/api/status` and `tenbin_build_info`. */
  version: string;
  runtime: string;
  /** Milliseconds since the epoch; Date.now by default. */
  now?: () => number;
  /** When the process started (ms since the epoch), for uptime; the process's start by default. */
  startedAt?: number;
}

/** Whether every configured listener is bound. */
export function allListenersBound(view: AdminView): boolean {
  const bound = new Set(view.listeners.map((l) => l.name));
  return view.config.listeners.every((l) => bound.has(l.name));
}
