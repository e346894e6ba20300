/**
 * `tenbin probe -c FILE [--all] [--wait 30s]`: probes every server of every pool once, the way the
 * running balancer would, and prints a table. Meant for CI jobs and deploy scripts ("are my backends
 * up yet?"), so its exit code is the answer:
 * - 0 when every pool has at least one healthy server (`--all`: when every server is healthy);
 * - 1 otherwise.
 * One passing probe counts as healthy here (no rise/fall: there is no history to smooth).
 * A pool without `health` is probed the way ActiveHealth would: `GET /` expecting 200-399 for
 * http(s):// servers, a TCP connect for tcp:// servers; udp:// servers are shown as "skipped" and
 * count as healthy, as nothing can tell.
 * https:// servers are probed with their pool's and their own `tls` settings (`ca_file`,
 * `server_name`, `insecure_skip_verify`), as the running balancer probes them.
 * With `waitMs > 0` the servers are probed again every ~500 ms until the answer is 0 or the time is
 * up; each round that will be retried writes a progress line (standard error), and only the last
 * round's table (or JSON, `json`) is printed.
 */
import { healthSchema, type Config, type HealthConfig } from "../config/schema.ts";
import { createLogger } from "../observe/log.ts";
import { ActiveHealth, type ProbeResult } from "../pool/health/active.ts";
import { probeTarget } from "../pool/health/probe-target.ts";
import { ServerState } from "../pool/server-state.ts";
import type { RuntimeFetch } from "../runtime/types.ts";
import { fetchWithServerTls, upstreamTlsMap } from "../tls/upstream.ts";
import { systemClock, type Clock } from "../util/clock.ts";

/** Flags of `tenbin probe` as main.ts parsed them, and where its output goes. */
export interface ProbeCommandOptions {
  /** Require every server healthy, not one per pool. */
  all: boolean;
  /** Keep probing until healthy for up to this long; 0 probes once. */
  waitMs: number;
  fetch: RuntimeFetch;
  /** Standard output. */
  write: (text: string) => void;
  /** Where progress lines of `waitMs` rounds go (standard error). */
  progress?: (text: string) => void;
  /** Print the result as one JSON object instead of the table. */
  json?: boolean;
  clock?: Clock;
  /** Pause between rounds with `waitMs`; 500 ms unless a test says otherwise. */
  retryEveryMs?: number;
}

/** What a pool without a `health` section is probed with (every schema default). */
const DEFAULT_HEALTH: HealthConfig = healthSchema.parse({});

interface Row {
  pool: string;
  server: ServerState;
  checker: ActiveHealth;
  result: ProbeResult | undefined;
}

/** Runs `tenbin probe`; resolves to the process exit code. */
export async function runProbeCommand(config: Config, opts: ProbeCommandOptions): Promise<number> {
  const clock = opts.clock ?? systemClock;
  const retryEveryMs = opts.retryEveryMs ?? 500;
  const silent = createLogger({ write: () => {} });
  const rows: Row[] = [];
  for (const [pool, poolConfig] of Object.entries(config.pools)) {
    const servers = poolConfig.servers.map((s) => new ServerState(s, clock));
    // As in Pool: probes know URLs, so each https:// server's TLS settings go by its probe origin.
    const probeTls = new Map([...upstreamTlsMap(poolConfig, servers)].map(([server, tls]) => [probeTarget(server, poolConfig.health?.port).origin, tls]));
    const fetch = fetchWithServerTls(opts.fetch, probeTls);
    const checker = new ActiveHealth({ poolName: pool, servers, config: poolConfig.health ?? DEFAULT_HEALTH, fetch, logger: silent, clock });
    for (const server of servers) rows.push({ pool, server, checker, result: undefined });
  }

  const deadline = clock.now() + Math.max(0, opts.waitMs);
  // Bounded by rounds as well as time, so a clock that does not move cannot keep it going.
  const maxRounds = Math.ceil(Math.max(0, opts.waitMs) / Math.max(1, retryEveryMs)) + 1;
  for (let round = 1; ; round++) {
    await Promise.all(rows.map(async (row) => void (row.result = await row.checker.probeOnce(row.server))));
    const failing = failingPools(rows, opts.all);
    const remaining = deadline - clock.now();
    if (failing.length === 0 || remaining <= 0 || round >= maxRounds) {
      if (opts.json) opts.write(`${JSON.stringify(jsonResult(rows, failing, opts.all))}\n`);
      else opts.write(formatTable(rows) + summary(rows, failing, opts.all));
      return failing.length === 0 ? 0 : 1;
    }
    opts.progress?.(`probe round ${round}: ${summary(rows, failing, opts.all).trimEnd()}; again in ${Math.min(retryEveryMs, remaining)}ms (${Math.ceil(remaining / 1000)}s left)\n`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryEveryMs, remaining)));
  }
}

/** Pools that fail the verdict: no healthy server, or (with `all`) any unhealthy one. */
function failingPools(rows: readonly Row[], all: boolean): string[] {
  const up = new Map<string, { healthy: number; total: number }>();
  for (const row of rows) {
    const counts = up.get(row.pool) ?? { healthy: 0, total: 0 };
    counts.total++;
    if (row.result?.ok) counts.healthy++;
    up.set(row.pool, counts);
  }
  const failing: string[] = [];
  for (const [pool, { healthy, total }] of up) {
    if (all ? healthy < total : healthy === 0) failing.push(pool);
  }
  return failing;
}

function stateOf(r: ProbeResult | undefined): string {
  return !r ? "unknown" : r.skipped ? "skipped" : r.ok ? "up" : "down";
}

function jsonResult(rows: readonly Row[], failing: readonly string[], all: boolean) {
  return {
    ok: failing.length === 0,
    summary: summary(rows, failing, all).trimEnd(),
    failing_pools: failing,
    servers: rows.map((row) => ({
      pool: row.pool,
      server: row.server.name,
      address: hostPort(row.server),
      state: stateOf(row.result),
      latency_ms: !row.result || row.result.skipped ? null : Math.round(row.result.latencyMs),
      reason: row.result?.reason ?? null,
    })),
  };
}

function formatTable(rows: readonly Row[]): string {
  const header = ["POOL", "SERVER", "STATE", "LATENCY", "REASON"];
  const lines = rows.map((row) => {
    const r = row.result;
    const state = stateOf(r);
    const latency = !r || r.skipped ? "-" : `${Math.round(r.latencyMs)}ms`;
    const name = row.server.name === hostPort(row.server) ? row.server.name : `${row.server.name} (${hostPort(row.server)})`;
    return [row.pool, name, state, latency, r?.reason ?? ""];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [header, ...lines].map(render).join("\n") + "\n";
}

function hostPort(server: ServerState): string {
  return server.host.includes(":") ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

function summary(rows: readonly Row[], failing: readonly string[], all: boolean): string {
  const up = rows.filter((r) => r.result?.ok).length;
  const head = `${up} of ${rows.length} servers healthy`;
  if (failing.length === 0) return `${head}: ${all ? "every server is healthy" : "every pool has a healthy server"}\n`;
  const names = failing.map((p) => `"${p}"`).join(", ");
  return all ? `${head}: not every server of ${names} is healthy\n` : `${head}: no healthy server in ${names}\n`;
}
