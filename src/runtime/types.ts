/**
 * The one type the core owns for everything a runtime does differently (Hono's adapter pattern):
 * `bun.ts` and `deno.ts` each implement `Runtime`; nothing outside this folder names `Bun` or `Deno`.
 */
import type { LightAbort } from "../util/abort.ts";
import type { TcpConn, TcpConnectOptions, TcpListener, TcpListenOptions, UdpSocket, UdpSocketOptions } from "./socket-types.ts";

export type { TcpConn, TcpConnectOptions, TcpEvents, TcpListener, TcpListenOptions, UdpSocket, UdpSocketOptions } from "./socket-types.ts";
import type { ConnectWebSocket, WebSocketUpgrader } from "./websocket-types.ts";

export type * from "./websocket-types.ts";
import type { HeaderMap, ProxyResponse } from "../http/message.ts";
import type { SplitLines } from "../http1/scratch.ts";

/** Message shapes live in http/message.ts; re-exported for the runtime adapters that speak them. */
export type { HeaderMap, ProxyRequest, ProxyResponse } from "../http/message.ts";

/** The client side of an accepted HTTP request. */
export interface ClientInfo {
  address: string;
  port: number;
}

/**
 * A request handler of an HTTP listener. `upgrader` is given on connections that can become
 * WebSockets (HTTP/1.1); see `websocket-types.ts`.
 */
export type HttpHandler = (req: Request, client: ClientInfo, upgrader?: WebSocketUpgrader) => Response | Promise<Response>;

/** One certificate of a TLS listener and the host name (SNI, exact or `*.wildcard`) it serves. */
export interface TlsIdentity {
  serverName: string;
  /** PEM text, not a path. */
  cert: string;
  key: string;
}

/** TLS of an HTTP listener. The first identity is the default (no SNI, or an unknown name). */
export interface ServeTls {
  identities: TlsIdentity[];
  minVersion: "1.2" | "1.3";
}

export interface HttpServeOptions {
  hostname: string;
  /** 0 picks a free port; read it back from `HttpServer.port`. */
  port: number;
  handler: HttpHandler;
  /** Seconds a keep-alive connection may idle (Bun caps it at 255). */
  idleTimeoutSec?: number;
  /** Bytes; larger bodies are refused by the runtime. */
  maxRequestBodySize?: number;
  /** Share the port with other processes (multi-core workers, TLS reload). */
  reusePort?: boolean;
  /** Terminate TLS with these certificates. */
  tls?: ServeTls | undefined;
  /** Offer HTTP/2 (ALPN h2 with TLS, prior knowledge without), HTTP/1.1 still served. */
  http2?: boolean | undefined;
}

export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Client connections open now, where the server counts them (tenbin's own). */
  readonly connectionCount?: number;
  /** Whether the socket was bound with reusePort (a runtime may have to refuse it); default false. */
  readonly reusePort?: boolean;
  /** Client connections open now, where the server knows (tenbin's own server; not Bun.serve). */
  readonly openConnections?: number;
  /**
   * Stops accepting; resolves when in-flight requests finished (or at once with `force`). Without
   * `force`, a keep-alive connection used in the last `STOP_QUIET_MS` is not closed under a request
   * that may already be on its way: that request is answered with `connection: close`.
   */
  stop(force?: boolean): Promise<void>;
}

/**
 * How long a keep-alive connection must have been quiet before a stopping server closes it (see
 * `HttpServer.stop`; HAProxy's `idle-close-on-response` waits for the next request instead).
 */
export const STOP_QUIET_MS = 250;

/** TLS settings of an upstream HTTPS connection. */
export interface UpstreamTls {
  ca?: string | undefined;
  serverName?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

/**
 * `fetch` as a proxy needs it: no decompression, no redirects followed. `connectTimeoutMs` bounds
 * the connect where the client sees it (tenbin's own HTTP/1.1 client; the runtimes' fetch has no
 * connect event and ignores it).
 */
export type UpstreamFetch = (url: string, init: UpstreamInit, tls?: UpstreamTls, connectTimeoutMs?: number) => Promise<ProxyResponse>;

/**
 * A request for `RuntimeFetch`: `RequestInit`, plus `abort` where the caller has no AbortSignal
 * (the forwarder's cheap per-attempt abort; a client that needs a signal takes `abort.signal`).
 */
export type FetchInit = RequestInit & {
  abort?: LightAbort | undefined;
  /**
   * Header lines to add (`name: value\r\n`, from `forwardingBlock`), replacing the hop-by-hop and
   * forwarding headers of `headers`; tenbin's HTTP/1.1 client writes them as they are, and gives
   * any other client a header set with them applied.
   */
  forwarding?: SplitLines | undefined;
  /**
   * Longest pause, either way, while an answer handed over at its head streams its body: the body
   * is then cut with a TimeoutError (tenbin's HTTP/1.1 client; others leave it to the caller).
   */
  bodyIdleMs?: number | undefined;
};

/**
 * `FetchInit` whose headers may be any `HeaderMap` (a `HeaderList` from the own server), and
 * `light` when the caller takes a `LightResponse` (tenbin's HTTP/1.1 client then gives one).
 */
export type UpstreamInit = Omit<FetchInit, "headers"> & {
  headers?: HeadersInit | HeaderMap | undefined;
  light?: boolean | undefined;
  /**
   * The URL's origin (`http://host:port`) and the rest (`/path?query`), where the caller has them
   * apart (the URL is then `origin + target`): tenbin's HTTP/1.1 client takes them as they are
   * instead of cutting the URL (a joined string to flatten, two slices and a hashed key per request).
   */
  origin?: string | undefined;
  target?: string | undefined;
};

/** The runtime's fetch as a proxy needs it (see `UpstreamFetch`), for Web header sets only. */
export type RuntimeFetch = (url: string, init: FetchInit, tls?: UpstreamTls, connectTimeoutMs?: number) => Promise<Response>;

export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGUSR1";

/** A child process of this same program (`workers: N`), with a message channel to it. */
export interface WorkerProcess {
  readonly pid: number;
  /** Sends a structured-clonable message; false when the channel is closed. */
  send(message: unknown): boolean;
  kill(signal: SignalName | "SIGKILL"): void;
  /** Resolves when the process ended: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

/** How to start a worker process. */
export interface SpawnWorkerOptions {
  /** tenbin's own arguments (the runtime adds the program, and the script when run from source). */
  args: string[];
  /** A message from the worker. */
  onMessage(message: unknown): void;
}

/** In a worker process: the channel to the process that started it. */
export interface ParentChannel {
  send(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  /** The parent went away (exited or was killed). */
  onDisconnect(handler: () => void): void;
}

export interface Runtime {
  readonly name: "bun" | "deno";
  readonly version: string;
  serveHttp(options: HttpServeOptions): Promise<HttpServer>;
  /**
   * The largest answer (status line, headers and body) `serveHttp` sends well as bytes when the
   * handler answers after an await; a longer one is better handed over as a stream. Absent: no
   * such limit (the h1 client then reads answers up to 1 MB whole).
   */
  readonly lateResponseBytes?: number;
  fetchUpstream: RuntimeFetch;
  /** Opens a WebSocket to a backend, for proxying upgrades. */
  connectWebSocket: ConnectWebSocket;
  /** Accepts TCP connections (L4 listeners); see `socket-types.ts`. */
  listenTcp(options: TcpListenOptions): Promise<TcpListener>;
  /** Dials a TCP server; rejects when the connection cannot be made. */
  connectTcp(options: TcpConnectOptions): Promise<TcpConn>;
  /** Binds a UDP socket (`port` 0 for an ephemeral one). */
  udpSocket(options: UdpSocketOptions): Promise<UdpSocket>;
  /**
   * Starts this program again as a worker process (stdout and stderr shared with this one). Absent
   * where the runtime cannot (Deno, for now): `workers` then runs one process.
   */
  spawnWorker?(options: SpawnWorkerOptions): WorkerProcess;
  /** The channel to the parent when this process was started by `spawnWorker`; else undefined. */
  parentChannel(): ParentChannel | undefined;
  /** Registers a signal handler; returns a function that removes it. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  /**
   * Checks a password against a bcrypt or argon2 hash (basic auth). Absent where the runtime has no
   * such function (basic_auth is then refused at start).
   */
  verifyPassword?(password: string, hash: string): Promise<boolean>;
  /**
   * Whether `verifyPassword` can check this kind of hash (Deno: bcrypt only); a config with a hash
   * it cannot check is refused at start. Absent: every kind the config schema accepts.
   */
  passwordHashSupported?(hash: string): boolean;
  /** Hashes a password for the config (`tenbin hash-password`); absent as `verifyPassword` is. */
  hashPassword?(password: string, algorithm: "bcrypt" | "argon2id"): Promise<string>;
  /**
   * Collects garbage now, so memory held by a burst of connections goes back to the system once
   * they are gone. Absent where the runtime has no such call (Deno).
   */
  releaseMemory?(): void;
  /**
   * TCP connections that wait for their peer now (bytes queued, or no room in the send buffer):
   * a crowd of slow readers. Absent where the runtime cannot tell (Deno).
   */
  blockedConnections?(): number;
  readTextFile(path: string): Promise<string>;
  readTextFileSync(path: string): string;
  /**
   * The runtime's native YAML parser (text → plain data; throws on a syntax error), where it has
   * one: config loading tries it first and falls back to the `yaml` package (src/config/fast-load.ts).
   */
  parseYaml?(text: string): unknown;
  /**
   * Sends an sd_notify state (`READY=1`, `RELOADING=1`, `STOPPING=1`) to systemd when NOTIFY_SOCKET
   * is set; true when it was sent.
   */
  notifySystemd?(state: string): boolean;
  env(name: string): string | undefined;
  /** Environment as a plain object (for `${NAME}` expansion). */
  envAll(): Record<string, string | undefined>;
  args(): string[];
  exit(code: number): never;
  /** Writes to standard output / error without a trailing newline. */
  stdout(text: string): void;
  stderr(text: string): void;
}
