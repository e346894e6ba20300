/**
 * What every probe kind shares: where it connects (`ProbeTarget`, computed once per server, not per
 * probe) and how a network error becomes a reason a person can act on.
 */
import type { ServerState } from "../server-state.ts";

/** The address a probe connects to: the server's, or the `health.port` override. */
export interface ProbeTarget {
  /** `http://host:port` or `https://host:port` (no path) for HTTP probes. */
  readonly origin: string;
  /** Host name or IP without brackets. */
  readonly host: string;
  readonly port: number;
  /** `host:port` (IPv6 in brackets), as reasons print it. */
  readonly label: string;
}

/**
 * One probe attempt: resolves to `undefined` when it passed or a failure reason; rejects on a
 * network error (turned into a reason by `describeProbeError`) or when `signal` aborts.
 */
export type ProbeFn = (target: ProbeTarget, signal: AbortSignal) => Promise<string | undefined>;

/** The probe target of a server, with an optional port override. */
export function probeTarget(server: ServerState, portOverride?: number): ProbeTarget {
  const port = portOverride ?? server.port;
  const label = server.host.includes(":") ? `[${server.host}]:${port}` : `${server.host}:${port}`;
  // tcp:// and udp:// servers probed over HTTP are spoken to in plain http.
  const scheme = server.protocol === "https" ? "https" : "http";
  return { origin: `${scheme}://${label}`, host: server.host, port, label };
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EADDRNOTAVAIL", "ECONNABORTED"]);

/**
 * A short reason for a failed connection, the same whichever runtime or client raised it:
 * `connect ECONNREFUSED 127.0.0.1:9002`, `getaddrinfo ENOTFOUND api.internal`,
 * `connection reset by 127.0.0.1:9002 (ECONNRESET)`.
 */
export function describeProbeError(err: unknown, target: ProbeTarget): string {
  const code = errorCode(err);
  if (code !== undefined) {
    if (CONNECT_CODES.has(code)) return `connect ${code} ${target.label}`;
    if (code === "ECONNRESET" || code === "EPIPE") return `connection reset by ${target.label} (${code})`;
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return `getaddrinfo ${code} ${target.host}`;
  }
  const message = err instanceof Error ? firstSentence(err.message) : String(err);
  if (code === undefined || message.startsWith(code)) return message;
  return `${code}: ${message}`;
}

// Some fetch implementations reject with "fetch failed" and no code; the cause says it in words.
const CODE_BY_TEXT: [RegExp, string][] = [
  [/connection refused/i, "ECONNREFUSED"],
  [/connection reset/i, "ECONNRESET"],
  [/dns error|name or service not known|failed to lookup address/i, "ENOTFOUND"],
];

/** The error's `code` (or its cause's), else one read from the words of its messages. */
function errorCode(err: unknown): string | undefined {
  let texts = "";
  for (let e: unknown = err, depth = 0; typeof e === "object" && e !== null && depth < 3; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === "string" && code !== "") return code;
    if (typeof message === "string") texts += ` ${message}`;
    e = cause;
  }
  return CODE_BY_TEXT.find(([re]) => re.test(texts))?.[1];
}

// Fetch errors may carry a second sentence of advice ("For more information, pass `verbose`...").
function firstSentence(message: string): string {
  const line = message.split("\n", 1)[0] ?? "";
  const end = line.indexOf(". ");
  return end > 0 ? line.slice(0, end) : line;
}
