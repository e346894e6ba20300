/**
 * The one type the core owns for everything a runtime does differently (Hono's adapter pattern):
 * `bun.ts` and `deno.ts` each implement `Runtime`; nothing outside this folder names `Bun` or `Deno`.
 */

/** The client side of an accepted HTTP request. */
export interface ClientInfo {
  address: string;
  port: number;
}

/** A request handler of an HTTP listener. */
export type HttpHandler = (req: Request, client: ClientInfo) => Response | Promise<Response>;

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
}

export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Swaps the handler without touching the socket. */
  setHandler(handler: HttpHandler): void;
  /** Stops accepting; resolves when in-flight requests finished (or at once with `force`). */
  stop(force?: boolean): Promise<void>;
}

/** TLS settings of an upstream HTTPS connection. */
export interface UpstreamTls {
  ca?: string | undefined;
  serverName?: string | undefined;
  rejectUnauthorized?: boolean | undefined;
}

/** `fetch` as a proxy needs it: no decompression, no redirects followed. */
export type UpstreamFetch = (url: string, init: RequestInit, tls?: UpstreamTls) => Promise<Response>;

export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGUSR1";

export interface Runtime {
  readonly name: "bun" | "deno";
  readonly version: string;
  serveHttp(options: HttpServeOptions): Promise<HttpServer>;
  fetchUpstream: UpstreamFetch;
  /** Registers a signal handler; returns a function that removes it. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  readTextFile(path: string): Promise<string>;
  readTextFileSync(path: string): string;
  env(name: string): string | undefined;
  /** Environment as a plain object (for `${NAME}` expansion). */
  envAll(): Record<string, string | undefined>;
  args(): string[];
  exit(code: number): never;
  /** Writes to standard output / error without a trailing newline. */
  stdout(text: string): void;
  stderr(text: string): void;
}
