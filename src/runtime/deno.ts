/**
 * `Runtime` on Deno 2. Differences from Bun that the proxy cares about (RUNTIME-NOTES.md):
 * - Deno's fetch cannot turn decompression off, so upstream requests ask for `identity` encoding and
 *   bodies pass through untouched.
 * - A custom Host header is dropped unless the client is made with `allowHost`.
 * - Multi-certificate SNI is not stable on Deno.serve: a TLS listener serves its default (first)
 *   certificate to every client, and `min_version` is Deno's own (TLS 1.2).
 * - WebSockets cannot pause reading (no backpressure towards a fast sender), and a custom Host is
 *   not sent on the backend handshake.
 * - No password hashing built in: bcrypt comes from the `bcryptjs` package; argon2 is unsupported.
 */
import { sendNotify } from "./sd-notify.ts";
import { denoDatagramLibc } from "./sd-notify-deno.ts";
import type { HttpServeOptions, HttpServer, Runtime, SignalName, UpstreamTls } from "./types.ts";
import { readFileSync } from "node:fs";
import { nodeSockets } from "./node-sockets.ts";
import { QuietStop } from "./quiet-stop.ts";
import { denoConnectWebSocket, denoUpgrader, type DenoWebSocketApi } from "./deno-websocket.ts";
import { bcryptJsHash, bcryptJsSupports, bcryptJsVerify } from "./bcrypt-js.ts";

/** The slice of Deno's API this file uses (tsc runs with Bun's types, not Deno's). */
interface DenoApi extends DenoWebSocketApi {
  version: { deno: string };
  serve(options: Record<string, unknown>, handler: (req: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response | Promise<Response>): {
    addr: { hostname: string; port: number };
    shutdown(): Promise<void>;
    finished: Promise<void>;
  };
  createHttpClient(options: Record<string, unknown>): unknown;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  readTextFile(path: string): Promise<string>;
  env: { get(name: string): string | undefined; toObject(): Record<string, string> };
  args: string[];
  exit(code: number): never;
  stdout: { writeSync(data: Uint8Array): number };
  stderr: { writeSync(data: Uint8Array): number };
}

const D = (globalThis as unknown as { Deno: DenoApi }).Deno;
const encoder = new TextEncoder();
const upgrader = denoUpgrader(D);

async function serveHttp(options: HttpServeOptions): Promise<HttpServer> {
  const { handler } = options;
  const controller = new AbortController();
  const serveOptions = {
    hostname: options.hostname,
    port: options.port,
    signal: controller.signal,
    onListen() {},
    // Deno.serve takes one certificate (SNI with several is not stable): the default one.
    ...(options.tls?.identities[0] ? { cert: options.tls.identities[0].cert, key: options.tls.identities[0].key } : {}),
  };
  // reusePort on a TLS listener is unstable on Deno: without --unstable-net the process exits, so
  // it is never asked for (a certificate reload then closes the old socket before binding anew).
  const reusePort = (options.reusePort ?? false) && !options.tls;
  const quietStop = new QuietStop();
  const server = D.serve({ ...serveOptions, reusePort }, (req, info) => quietStop.answer(handler(req, { address: info.remoteAddr.hostname, port: info.remoteAddr.port }, upgrader)));
  return {
    hostname: server.addr.hostname,
    port: server.addr.port,
    reusePort,
    async stop(force = false) {
      await quietStop.settle(force);
      if (force) controller.abort();
      else await server.shutdown();
      await server.finished.catch(() => undefined);
    },
  };
}

const clients = new Map<string, unknown>();

function clientFor(tls: UpstreamTls | undefined): unknown {
  const key = JSON.stringify(tls ?? {});
  let client = clients.get(key);
  if (client === undefined) {
    const options: Record<string, unknown> = { allowHost: true, poolMaxIdlePerHost: 64 };
    if (tls?.ca !== undefined) options.caCerts = [tls.ca];
    client = D.createHttpClient(options);
    clients.set(key, client);
  }
  return client;
}

function writeAll(stream: { writeSync(data: Uint8Array): number }, text: string): void {
  let data = encoder.encode(text);
  while (data.length > 0) data = data.subarray(stream.writeSync(data));
}

export const denoRuntime: Runtime = {
  name: "deno",
  version: D.version.deno,
  serveHttp,
  ...nodeSockets,
  connectWebSocket: denoConnectWebSocket(clientFor),
  fetchUpstream(url, init, tls) {
    const headers = new Headers(init.headers);
    headers.set("accept-encoding", "identity");
    return fetch(url, { ...init, headers, redirect: "manual", client: clientFor(tls) } as RequestInit);
  },
  // No spawnWorker yet (node:child_process `fork` with IPC is the likely route): `workers` runs as 1.
  // (Deno.serve's reusePort also needs --unstable-net, so nothing here may ask for it.)
  parentChannel: () => undefined,
  onSignal(signal: SignalName, handler: () => void) {
    D.addSignalListener(signal, handler);
    return () => D.removeSignalListener(signal, handler);
  },
  readTextFile: (path) => D.readTextFile(path),
  readTextFileSync: (path) => readFileSync(path, "utf8"),
  notifySystemd: (state) => sendNotify(D.env.get("NOTIFY_SOCKET"), state, denoDatagramLibc),
  env: (name) => D.env.get(name),
  envAll: () => D.env.toObject(),
  args: () => D.args,
  exit: (code) => D.exit(code),
  stdout: (text) => writeAll(D.stdout, text),
  stderr: (text) => writeAll(D.stderr, text),
  // No native hash check: bcrypt in plain JavaScript; argon2 hashes are refused at start.
  verifyPassword: bcryptJsVerify,
  passwordHashSupported: bcryptJsSupports,
  async hashPassword(password, algorithm) {
    if (algorithm !== "bcrypt") throw new Error(`Deno cannot make "${algorithm}" hashes; use --algorithm bcrypt, or run tenbin hash-password with Bun`);
    return await bcryptJsHash(password);
  },
};
