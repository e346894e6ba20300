/**
 * WebSocket upgrades on tenbin's own HTTP/1.1 server (`engine: tenbin`) as a byte tunnel, the way
 * HAProxy proxies them: the pool picks the server as for any request (stickiness, hash, another
 * server when a connect fails), tenbin sends the client's upgrade request on a fresh connection and
 * reads the answer. A 101 becomes a `TunnelResponse` that the listener splices to the client's
 * connection; any other answer (a refusal) goes to the client as an ordinary one. The server
 * counts as in flight while its tunnel is open, as for a runtime-engine WebSocket (websocket.ts).
 * http:// servers, and https:// ones over TLS with the pool's verification, CA and server name.
 */
import { Buffer } from "node:buffer";
import type { Logger } from "../observe/log.ts";
import { describeProbeError, probeTarget } from "../pool/health/probe-target.ts";
import type { Pool } from "../pool/pool.ts";
import type { ServerState } from "../pool/server-state.ts";
import type { StickyFacts } from "../pool/stickiness.ts";
import type { HeaderMap, ProxyResponse, Runtime, TcpConn } from "../runtime/types.ts";
import type { TcpClientTls } from "../runtime/socket-types.ts";
import { clientTls } from "../tls/upstream.ts";
import { errorResponse } from "./errors.ts";
import type { Exchange } from "./forward.ts";
import { BodyDecoder, type Framing } from "../http1/body-decoder.ts";
import { requestLines } from "../http1/request-lines.ts";
import { splitField } from "../http1/fields.ts";
import { BadResponseError, badResponseLine, MAX_HEAD, parseHead } from "../http1/response-parser.ts";
import { stripHopByHop, withHostFor } from "./headers.ts";
import { HeaderList } from "../http1/header-list.ts";
import { LightResponse } from "../http/message.ts";
import { TunnelResponse, UpstreamLink } from "./tunnel-response.ts";
import { startUpgrade, upgradeAnswer } from "./websocket.ts";
import { invalidSwitch } from "./websocket-accept.ts";
import { asJudged, runAttempts } from "./attempt-loop.ts";
import { answered, attemptStarted, failed } from "../pool/outcome.ts";

export { TunnelResponse } from "./tunnel-response.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/;
/** The longest refusal body passed on; a longer one makes the answer a 502. */
const MAX_REFUSAL_BODY = 1024 * 1024;
/** Fields of a 101 that would frame a body it cannot have. */
const NOT_ON_101: ReadonlySet<string> = new Set(["content-length", "transfer-encoding", "keep-alive", "proxy-connection", "te", "trailer"]);
/** Request fields the head writer sets itself (there is no body). */
const OWN: ReadonlySet<string> = new Set(["host", "content-length", "transfer-encoding"]);

/** A failed attempt: what to log, and how the client is answered when nothing else works. */
interface Failure {
  reason: string;
  timeout: boolean;
}

/** The server's answer head, 101 included. */
interface AnswerHead {
  status: number;
  statusText: string;
  fields: [string, string][];
  framing: Framing;
}

type Attempt = { kind: "answer"; response: ProxyResponse } | ({ kind: "failed"; retry: boolean } & Failure) | { kind: "gone" };

/** Tunnels the WebSocket upgrades of tenbin's own HTTP server; one per listener. */
export class UpgradeTunnels {
  readonly #connect: Runtime["connectTcp"];
  readonly #logger: Logger;
  #open = 0;

  constructor(connect: Runtime["connectTcp"], logger: Logger) {
    this.#connect = connect;
    this.#logger = logger;
  }

  /** Tunnels open now (and 101s not yet spliced). */
  get open(): number {
    return this.#open;
  }

  /** Answers an upgrade request: a `TunnelResponse`, the server's refusal, or 400/499/502/503/504. */
  async proxy(ex: Exchange, pool: Pool): Promise<ProxyResponse> {
    const { req } = ex;
    // A body would sit between the request head and the tunnel's first bytes; clients send none.
    if (req.body !== null) return errorResponse(400, ex.requestId);
    // Without a key the server's 101 cannot be checked (websocket-accept.ts); RFC 6455 requires one.
    if (!req.headers.get("sec-websocket-key") || req.headers.get("sec-websocket-version") !== "13") return errorResponse(400, ex.requestId);
    const { facts, pinned, hashKey, headers, requestId } = startUpgrade(ex, pool);
    // Hop-by-hop fields are gone; the upgrade is this hop's business, so it is asked for again.
    headers.set("upgrade", req.headers.get("upgrade") ?? "websocket");
    headers.set("connection", "Upgrade");
    const result = await runAttempts<ProxyResponse>({
      pool,
      clientIp: ex.clientIp,
      hashKey,
      pinned,
      waitOn: req,
      attempt: async (server, index) => {
        ex.server = server;
        ex.attempts = index + 1;
        const tried = await this.#attempt(ex, pool, server, headers, facts, pinned);
        if (tried.kind === "answer") return { kind: "done", value: tried.response };
        if (tried.kind === "gone") return { kind: "done", value: errorResponse(499, requestId) };
        return { kind: "failed", failure: tried.timeout ? "timeout" : tried.retry ? "connect" : "sent", reason: tried.reason, retry: tried.retry };
      },
      judge: asJudged,
      gone: () => req.signal.aborted,
    });
    return upgradeAnswer(result, pool, req, requestId, this.#logger);
  }

  /** One server: dial, send the upgrade request, read the answer. Releases the server unless it tunnels. */
  async #attempt(ex: Exchange, pool: Pool, server: ServerState, base: HeaderMap, facts: StickyFacts, pinned: ServerState | undefined): Promise<Attempt> {
    const { timeouts } = pool.config;
    const signal = ex.req.signal;
    attemptStarted(server);
    const started = performance.now();
    const link = new UpstreamLink();
    const tls = server.protocol === "https" ? clientTls(server.host, pool.tlsFor(server)) : undefined;
    const conn = await this.#dial(server, link, timeouts.connect, tls);
    if ("reason" in conn) {
      pool.release(server);
      if (signal.aborted) return { kind: "gone" };
      this.#failed(pool, server, conn.reason, ex.requestId);
      return { kind: "failed", retry: true, ...conn }; // nothing was sent: another server may take it
    }
    link.conn = conn;
    /** The connection is done with (a failure, or a refusal read whole): the server is let go. */
    const done = <A extends Attempt>(result: A): A => {
      conn.destroy();
      pool.release(server);
      if (result.kind === "failed") this.#failed(pool, server, result.reason, ex.requestId);
      return result;
    };
    if (signal.aborted) return done({ kind: "gone" });
    conn.write(Buffer.from(requestHead(ex, withHostFor(pool.config.host_header, server.origin, base), server), "latin1"));
    const head = await readHead(link, timeouts.response, signal);
    if (head === "gone") return done({ kind: "gone" });
    if ("reason" in head) return done({ kind: "failed", retry: false, ...head });
    // A 101 that is not the WebSocket handshake asked for opens no tunnel: the client gets 502.
    const fake = head.status === 101 ? invalidSwitch(head.fields, ex.req.headers.get("sec-websocket-key")!) : undefined;
    if (fake !== undefined) return done({ kind: "failed", retry: false, reason: fake, timeout: false });
    answered(pool, server, head.status, performance.now() - started);
    if (head.status === 101) {
      const headers = new HeaderList(head.fields.filter(([name]) => !NOT_ON_101.has(name)));
      const setCookie = pool.sticky.enabled ? pool.sticky.bind(facts, server, pinned) : undefined;
      if (setCookie) headers.append("set-cookie", setCookie);
      this.#open++;
      const onEnd = () => {
        this.#open--;
        pool.release(server);
      };
      const response = new TunnelResponse({ statusText: head.statusText, headers, upstream: conn, link, idleMs: timeouts.idle, signal, onEnd });
      return { kind: "answer", response };
    }
    // A refusal (403, 426, ...) is the server's answer to the client; the connection is done with.
    const body = await readBody(link, head.framing, timeouts.idle, signal);
    if (body === "gone") return done({ kind: "gone" });
    if (!(body instanceof Uint8Array)) return done({ kind: "failed", retry: false, ...body });
    const fields = new HeaderList(head.fields);
    stripHopByHop(fields);
    return done({ kind: "answer", response: new LightResponse(head.status, head.statusText, fields, body.length > 0 ? body : null) });
  }

  /** Connects within `timeoutMs`; a connection that comes later is closed. */
  async #dial(server: ServerState, link: UpstreamLink, timeoutMs: number, tls: TcpClientTls | undefined): Promise<TcpConn | Failure> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const dialing = this.#connect({ hostname: server.host, port: server.port, events: link, tls });
    try {
      const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
      const conn = await Promise.race([dialing, timeout]);
      if (conn !== "timeout") return conn;
      dialing.then((late) => late.destroy(), () => undefined);
      return { reason: `connect timeout after ${timeoutMs}ms to ${probeTarget(server).label}`, timeout: true };
    } catch (error) {
      return { reason: describeProbeError(error, probeTarget(server)), timeout: false };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Accounts a failure where the forwarder does: the server's counters, passive health, the log. */
  #failed(pool: Pool, server: ServerState, reason: string, requestId: string): void {
    failed(pool, server, reason);
    this.#logger.warn(`${pool.name}/${server.name}: WebSocket upgrade: ${reason}`, { request_id: requestId });
  }
}

/** The upgrade request's head: the client's method and target, `headers` as rewritten, no body. */
function requestHead(ex: Exchange, headers: HeaderMap, server: ServerState): string {
  return `${requestLines(ex.req.method, ex.pathAndQuery, headers, server.origin.replace(/^[a-z]+:\/\//, ""), OWN)}\r\n`;
}

/** Reads the answer head within `timeoutMs` (1xx other than 101 skipped); bytes after it stay in `link`. */
async function readHead(link: UpstreamLink, timeoutMs: number, signal: AbortSignal): Promise<AnswerHead | Failure | "gone"> {
  const deadline = performance.now() + timeoutMs;
  let buf: Buffer = Buffer.alloc(0);
  for (;;) {
    const end = buf.indexOf(CRLFCRLF);
    if (end >= 0) {
      let head: AnswerHead | undefined;
      try {
        head = parseAnswerHead(buf.toString("latin1", 0, end));
      } catch (error) {
        return { reason: (error as Error).message, timeout: false };
      }
      buf = buf.subarray(end + 4);
      if (head === undefined) continue; // an interim answer: the final one follows
      link.unshift(buf);
      return head;
    }
    if (buf.length > MAX_HEAD) return { reason: `bad response from server: head over ${MAX_HEAD / 1024} KiB`, timeout: false };
    const next = await link.next(deadline - performance.now(), signal);
    if (next === "gone") return "gone";
    if (next === "timeout") return { reason: `timeout: no answer to the upgrade within ${timeoutMs}ms`, timeout: true };
    if (next === "end") return { reason: `connection closed ${buf.length === 0 ? "before any answer" : "inside the answer's head"}`, timeout: false };
    buf = buf.length === 0 ? next : Buffer.concat([buf, next]);
  }
}

/** Parses an answer head; undefined for an interim 1xx. `parseHead` refuses 101, so that one is read here. */
function parseAnswerHead(text: string): AnswerHead | undefined {
  const lines = text.split("\r\n");
  const m = STATUS_LINE.exec(lines[0]!);
  if (m?.[1] !== "101") {
    const head = parseHead(text, false);
    return head && { status: head.status, statusText: head.statusText, fields: head.headers.pairs(), framing: head.framing };
  }
  const fields = lines.slice(1).map((line) => splitField(line, badResponseLine));
  return { status: 101, statusText: m[2] ?? "", fields, framing: { kind: "none" } };
}

/** Reads a refusal's body as its framing says (bounded by `MAX_REFUSAL_BODY`; `idleMs` between bytes). */
async function readBody(link: UpstreamLink, framing: Framing, idleMs: number, signal: AbortSignal): Promise<Uint8Array | Failure | "gone"> {
  const parts: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  const decoder = new BodyDecoder({ body: (chunk) => (parts.push(chunk), (size += chunk.byteLength)), end: () => (ended = true) }, (message) => new BadResponseError(message));
  decoder.start(framing);
  let pending: Buffer | undefined;
  while (!ended) {
    if (size > MAX_REFUSAL_BODY) return { reason: `answer body over ${MAX_REFUSAL_BODY / 1024} KiB`, timeout: false };
    const next = await link.next(idleMs, signal);
    if (next === "gone") return "gone";
    if (next === "timeout") return { reason: `timeout: the answer's body stalled for ${idleMs}ms`, timeout: true };
    if (next === "end") {
      if (decoder.close()) break;
      return { reason: "connection closed before the answer's body ended", timeout: false };
    }
    const buf = pending === undefined ? next : Buffer.concat([pending, next]);
    pending = undefined;
    try {
      const stop = decoder.decode(buf, 0);
      if (!ended && stop < buf.length) pending = buf.subarray(stop);
    } catch (error) {
      return { reason: (error as Error).message, timeout: false };
    }
  }
  return Buffer.concat(parts);
}
