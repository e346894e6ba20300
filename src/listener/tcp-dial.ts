/**
 * One connect attempt of a TCP session to a server, bounded by the pool's connect timeout. A
 * failure is accounted where every part of tenbin looks for it (the server's counters, passive
 * outlier detection, the log) and the server's slot is given back, so the caller just tries the next.
 * When tenbin itself is out of file descriptors (Bun then reports ECONNREFUSED) the server is not
 * blamed: no failure counted, nothing told to passive health, and the log says whose shortage it is.
 */
import type { Logger } from "../observe/log.ts";
import { describeProbeError, probeTarget } from "../pool/health/probe-target.ts";
import { attemptStarted, failed } from "../pool/outcome.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import { outOfFileDescriptors } from "../runtime/fd-limit.ts";
import type { TcpConn, TcpConnectOptions, TcpEvents } from "../runtime/types.ts";

/** What a connect attempt needs. */
export interface DialOptions {
  pool: Pool;
  /** Acquired from `pool`; released here when the attempt fails. */
  server: ServerState;
  connect: (options: TcpConnectOptions) => Promise<TcpConn>;
  /** Handlers of the new connection; the caller ignores them once it gave up on this attempt. */
  events: TcpEvents;
  logger: Logger;
  /** For log lines. */
  listener: string;
  /** False once the client left: a failure is then not worth a warning. */
  wanted: () => boolean;
  /** Whether tenbin is out of file descriptors (fd-limit.ts by default; tests inject a shortage). */
  outOfFileDescriptors?: () => "EMFILE" | "ENFILE" | undefined;
}

/** The outcome of a connect attempt: the connection, or why there is none (`local`: tenbin's own shortage). */
export type DialResult = { conn: TcpConn } | { conn: undefined; reason: string; local: boolean };

/** The connection, or why not when it failed or timed out (a late success is closed at once). */
export async function dialServer(options: DialOptions): Promise<DialResult> {
  const { pool, server, logger } = options;
  const timeoutMs = pool.config.timeouts.connect;
  attemptStarted(server);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const dialing = options.connect({ hostname: server.host, port: server.port, events: options.events });
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`connect timeout after ${timeoutMs}ms to ${probeTarget(server).label}`)), timeoutMs);
    });
    return { conn: await Promise.race([dialing, timeout]) };
  } catch (error) {
    dialing.then((late) => late.destroy(), () => undefined);
    pool.release(server);
    const timedOut = error instanceof TimeoutError;
    const shortage = timedOut ? undefined : (options.outOfFileDescriptors ?? outOfFileDescriptors)();
    if (shortage !== undefined) {
      const reason = `tenbin is out of file descriptors (${shortage})`;
      if (options.wanted()) logger.warn(`${pool.name}/${server.name}: connect failed: ${reason}, not the server's fault`, { listener: options.listener });
      return { conn: undefined, reason, local: true };
    }
    const reason = timedOut ? error.message : describeProbeError(error, probeTarget(server));
    failed(pool, server, reason);
    if (options.wanted()) logger.warn(`${pool.name}/${server.name}: ${reason}`, { listener: options.listener });
    return { conn: undefined, reason, local: false };
  } finally {
    clearTimeout(timer);
  }
}

class TimeoutError extends Error {}
