/**
 * Runs one probe under a deadline and turns whatever happened into a `ProbeResult`: passed, failed
 * with the probe's reason, failed with a network error's reason, or `timeout after Nms`.
 */
import type { Clock } from "../../util/clock.ts";
import { outOfFileDescriptors } from "../../runtime/fd-limit.ts";
import { describeProbeError, type ProbeFn, type ProbeTarget } from "./probe-target.ts";

/** The outcome of one probe. */
export interface ProbeResult {
  ok: boolean;
  /** From the start of the connection to the verdict. */
  latencyMs: number;
  /** Why it failed (`status 500 not in 200-399`, `timeout after 1000ms`, ...); "" when it passed. */
  reason: string;
  /** True for servers no probe can reach (udp:// without a configured probe): counted as passing. */
  skipped?: boolean;
  /**
   * Set when the probe failed because tenbin itself is out of file descriptors (EMFILE, ENFILE):
   * no verdict on the server, which may be fine.
   */
  localShortage?: string;
}

/**
 * Runs `probe` against `target`, aborting it after `timeoutMs`. `controller` lets the caller abort it
 * too (stop); the result of such a probe is then a failure the caller is expected to drop.
 */
export async function runProbe(
  probe: ProbeFn,
  target: ProbeTarget,
  timeoutMs: number,
  clock: Clock,
  controller: AbortController = new AbortController(),
): Promise<ProbeResult> {
  let timedOut = false;
  // Raced against the probe so a client that ignores its signal still cannot hold the server's slot.
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timeout after ${timeoutMs}ms`));
  }, timeoutMs);
  const started = clock.now();
  try {
    const reason = await Promise.race([probe(target, controller.signal), aborted]);
    const latencyMs = clock.now() - started;
    return reason === undefined ? { ok: true, latencyMs, reason: "" } : { ok: false, latencyMs, reason };
  } catch (err) {
    const latencyMs = clock.now() - started;
    // At the fd limit Bun reports the failed connect as ECONNREFUSED: ask whether we are out.
    const shortage = timedOut ? undefined : outOfFileDescriptors();
    if (shortage !== undefined) return { ok: false, latencyMs, reason: `tenbin is out of file descriptors (${shortage})`, localShortage: shortage };
    return { ok: false, latencyMs, reason: timedOut ? `timeout after ${timeoutMs}ms` : describeProbeError(err, target) };
  } finally {
    clearTimeout(timer);
  }
}
