/**
 * The runtime-neutral shape of WebSocket proxying: the client side (an HTTP handler accepts an
 * upgrade and is told of frames) and the server side (a WebSocket client towards a backend). Both
 * sides offer pause/resume so a slow reader slows the writer instead of filling memory; a runtime
 * that cannot pause says so with `canPause`.
 */
import type { UpstreamTls } from "./types.ts";

/** A message as the proxy passes it on: text, or binary bytes. */
export type WebSocketData = string | Uint8Array;

/** The client's side of an accepted WebSocket. */
export interface DownstreamWebSocket {
  /**
   * Sends one message. Returns the bytes sent; -1 when the message was queued because the client
   * reads slowly (wait for `drain` before sending more); 0 when it was dropped (connection closing).
   */
  send(data: WebSocketData): number;
  /** Sends a close frame (codes 1005/1006/1015 cannot be sent: the close then carries no code). */
  close(code?: number, reason?: string): void;
  /** Drops the connection without a close frame (the peer sees 1006). */
  terminate(): void;
  /** Stops reading the client's frames, so TCP pushes back on it. */
  pause(): void;
  resume(): void;
  /** Whether pause/resume and `drain` really work on this runtime. */
  readonly canPause: boolean;
}

/** What the proxy is told about an accepted client WebSocket. */
export interface DownstreamEvents {
  open(socket: DownstreamWebSocket): void;
  message(data: WebSocketData): void;
  /** The client caught up after `send` returned -1. */
  drain(): void;
  close(code: number, reason: string): void;
}

/** How to answer a client's upgrade request. */
export interface WebSocketAccept {
  /** The subprotocol chosen (one the client offered), or undefined for none. */
  protocol?: string | undefined;
  /** More headers for the 101 response (such as a persistence cookie). */
  headers?: Headers | undefined;
  events: DownstreamEvents;
}

/**
 * Handed to an HTTP handler with each request. `accept` upgrades the request's connection; the
 * handler must return what it returns (a runtime-specific Response), or a normal response when it
 * returns undefined (the request cannot be upgraded).
 */
export interface WebSocketUpgrader {
  accept(req: Request, init: WebSocketAccept): Response | undefined;
}

/** A WebSocket client connection to a backend. */
export interface UpstreamWebSocket {
  /** The subprotocol the backend chose ("" for none); known once `open` fired. */
  readonly protocol: string;
  /** Bytes queued by `send` and not yet written. */
  readonly bufferedAmount: number;
  send(data: WebSocketData): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  /** Stops reading the backend's frames (TCP backpressure). */
  pause(): void;
  resume(): void;
  readonly canPause: boolean;
}

/** What the proxy is told about a backend WebSocket. */
export interface UpstreamEvents {
  open(): void;
  message(data: WebSocketData): void;
  close(code: number, reason: string): void;
  /**
   * The connection could not be opened: `status` is the backend's HTTP status when it answered the
   * upgrade with something other than 101, undefined when no answer came (connect or TLS failure).
   */
  fail(reason: string, status: number | undefined): void;
}

/** Options of an upstream WebSocket. */
export interface UpstreamWebSocketOptions {
  /** Handshake headers (Host, cookies, forwarding headers); the runtime adds the WebSocket ones. */
  headers: Headers;
  /** Subprotocols offered, in the client's order. */
  protocols: string[];
  tls?: UpstreamTls | undefined;
  events: UpstreamEvents;
}

/** Opens a WebSocket to a backend (`ws://` or `wss://` URL). */
export type ConnectWebSocket = (url: string, options: UpstreamWebSocketOptions) => UpstreamWebSocket;
