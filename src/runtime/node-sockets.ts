/**
 * TCP and UDP through `node:net` and `node:dgram`, behind the neutral types of `socket-types.ts`.
 * Deno uses these (its Node layer is stable, while `Deno.listenDatagram` still needs a flag); they
 * would run on Bun too. Node's streams buffer every write, so `write` answers with Node's own
 * backpressure verdict and the caller's pause keeps the buffer to about one chunk.
 */
import type { Server, Socket } from "node:net";
import type { ConnectionOptions, SecureContext } from "node:tls";
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import type { TcpConn, TcpConnectOptions, TcpEvents, TcpListener, TcpListenOptions, UdpSocket, UdpSocketOptions } from "./socket-types.ts";
import type { ServeTls } from "./types.ts";

const nodeNet = lazyBuiltin("node:net");
const nodeTls = lazyBuiltin("node:tls");
const nodeDgram = lazyBuiltin("node:dgram");

/** Datagrams handed to node:dgram but not yet sent; more are dropped (send answers false). */
const MAX_UDP_IN_FLIGHT = 256;

class NodeTcpConn implements TcpConn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly #socket: Socket;
  #ending = false;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? "";
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
  }

  get pending(): number {
    return this.#socket.writableLength;
  }

  write(data: Uint8Array): boolean {
    if (this.#ending || this.#socket.destroyed) return true;
    return this.#socket.write(data);
  }

  writeBorrowed(bytes: Uint8Array, length: number): boolean {
    // Node's streams keep what they are given until it is sent: give them a copy.
    return this.write(new Uint8Array(bytes.subarray(0, length)));
  }

  shutdownWrite(): void {
    if (this.#ending || this.#socket.destroyed) return;
    this.#ending = true;
    this.#socket.end(); // with allowHalfOpen, a FIN after the buffered bytes; reading goes on
  }

  end(): void {
    if (this.#socket.destroyed) return;
    this.#ending = true;
    if (this.#socket.writableFinished) this.#socket.destroy();
    else this.#socket.end(() => this.#socket.destroy());
  }

  destroy(): void {
    if (this.#socket.destroyed) return;
    // resetAndDestroy sends RST where supported; older layers only have destroy.
    const s = this.#socket as Socket & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === "function") s.resetAndDestroy();
    else s.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  /** node:net gives no fd to set it on (and Deno no FFI without `--allow-ffi`): the kernel's autotuning stays. */
  limitReads(): boolean {
    return false;
  }

  /** No fd to ask the kernel through: the caller writes and waits for `drain` as before. */
  room(): Promise<void> | undefined {
    return undefined;
  }
}

function attach(socket: Socket, events: TcpEvents): void {
  let error: Error | undefined;
  socket.on("data", (chunk: Uint8Array) => events.data(chunk));
  socket.on("drain", () => events.drain());
  socket.on("end", () => events.end());
  socket.on("error", (e: Error) => (error ??= e));
  socket.on("close", () => events.close(error));
}

/**
 * A node:tls server for `tls`: one secure context per SNI name, picked by exact name, then by the
 * `*.` wildcard of its parent; no SNI or an unknown name gets the first identity.
 */
function tlsServer(tls: ServeTls, onSocket: (socket: Socket) => void): Server {
  const minVersion = tls.minVersion === "1.3" ? "TLSv1.3" : "TLSv1.2";
  const contexts = new Map<string, SecureContext>();
  for (const id of tls.identities) {
    const name = id.serverName.toLowerCase();
    if (!contexts.has(name)) contexts.set(name, nodeTls().createSecureContext({ cert: id.cert, key: id.key, minVersion }));
  }
  const first = tls.identities[0];
  if (!first) throw new Error("a tls listener needs at least one certificate");
  const fallback = contexts.get(first.serverName.toLowerCase());
  return nodeTls().createServer({
    cert: first.cert,
    key: first.key,
    minVersion,
    allowHalfOpen: true,
    SNICallback: (servername, callback) => {
      const name = servername.toLowerCase();
      const dot = name.indexOf(".");
      callback(null, contexts.get(name) ?? (dot > 0 ? contexts.get(`*${name.slice(dot)}`) : undefined) ?? fallback);
    },
  }, onSocket);
}

async function listenTcp(options: TcpListenOptions): Promise<TcpListener> {
  const onSocket = (socket: Socket) => attach(socket, options.accept(new NodeTcpConn(socket)));
  // A TLS server calls back after the handshake, so `accept` only ever sees decrypted streams;
  // failed handshakes ("tlsClientError") never reach it.
  const server = options.tls ? tlsServer(options.tls, onSocket) : nodeNet().createServer({ allowHalfOpen: true }, onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // reusePort (workers share the port) is honoured by Bun's and Deno's node:net (checked: Bun 1.4.5, Deno 2).
    server.listen({ port: options.port, host: options.hostname, reusePort: options.reusePort ?? false }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    hostname: options.hostname,
    port: typeof address === "object" && address !== null ? address.port : options.port,
    stop: () => void server.close(),
  };
}

function connectTcp(options: TcpConnectOptions): Promise<TcpConn> {
  return new Promise((resolve, reject) => {
    const tls = options.tls;
    // node:tls verifies the certificate (against servername, else the host) before `secureConnect`.
    const socket = tls
      ? nodeTls().connect({
        host: options.hostname,
        port: options.port,
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
        ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
        // node:tls takes it (net.Socket options) though its types leave it out.
        ...({ allowHalfOpen: true } as ConnectionOptions),
      })
      : nodeNet().connect({ host: options.hostname, port: options.port, allowHalfOpen: true });
    const onError = (error: Error) => reject(error);
    socket.once("error", onError);
    socket.once(tls ? "secureConnect" : "connect", () => {
      socket.off("error", onError);
      const conn = new NodeTcpConn(socket);
      attach(socket, options.events);
      resolve(conn);
    });
  });
}

async function udpSocket(options: UdpSocketOptions): Promise<UdpSocket> {
  const family = options.hostname.includes(":") ? "udp6" : "udp4";
  const socket = nodeDgram().createSocket(family);
  socket.on("message", (data, info) => options.message(data, info.address, info.port));
  socket.on("error", () => undefined); // a failed send is a lost datagram, as UDP allows
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.hostname, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  let inFlight = 0;
  let closed = false;
  return {
    hostname: options.hostname,
    port: socket.address().port,
    send(data, port, address) {
      if (closed || inFlight >= MAX_UDP_IN_FLIGHT) return false;
      inFlight++;
      socket.send(data, port, address, () => inFlight--);
      return true;
    },
    close() {
      closed = true;
      socket.close();
    },
  };
}

/** node:net / node:dgram TCP and UDP for the `Runtime`. */
export const nodeSockets = { listenTcp, connectTcp, udpSocket };
