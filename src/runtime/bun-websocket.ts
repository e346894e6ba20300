/**
 * WebSocket proxying on Bun: `server.upgrade()` with one shared set of handlers that dispatch to the
 * events each accepted connection carries in `ws.data`, and Bun's WebSocket client (which takes
 * custom headers, TLS options and pause/resume) towards the backends.
 */
type Server<T> = Bun.Server<T>;
type ServerWebSocket<T> = Bun.ServerWebSocket<T>;
type WebSocketHandler<T> = Bun.WebSocketHandler<T>;
import type { UpstreamTls } from "./types.ts";
import { wireUpstreamWebSocket } from "./upstream-websocket.ts";
import type { ConnectWebSocket, DownstreamEvents, DownstreamWebSocket, WebSocketUpgrader } from "./websocket-types.ts";

interface SocketData {
  events: DownstreamEvents;
}

/** Largest message accepted from a client; a longer one closes the connection with 1009. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function downstream(ws: ServerWebSocket<SocketData>): DownstreamWebSocket {
  return {
    send: (data) => ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    canPause: true,
  };
}

/** The `websocket` option of Bun.serve: every event goes to the connection's own handlers. */
export const bunWebSocketHandlers: WebSocketHandler<SocketData> = {
  open: (ws) => ws.data.events.open(downstream(ws)),
  message: (ws, message) => ws.data.events.message(message),
  drain: (ws) => ws.data.events.drain(),
  close: (ws, code, reason) => ws.data.events.close(code, reason),
  maxPayloadLength: MAX_MESSAGE_BYTES,
  // The proxy pauses the backend at the first queued send, so little more than one message waits
  // here; the limit is high so that nothing is ever dropped for it.
  backpressureLimit: 4 * MAX_MESSAGE_BYTES,
  closeOnBackpressureLimit: false,
};

/** The upgrader handed to the HTTP handler of one Bun server. */
export function bunUpgrader(server: Server<SocketData>): WebSocketUpgrader {
  return {
    accept(req, init) {
      const headers = new Headers(init.headers);
      if (init.protocol) headers.set("sec-websocket-protocol", init.protocol);
      if (!server.upgrade(req, { headers, data: { events: init.events } })) return undefined;
      // Bun ignores what fetch returns after a successful upgrade; the handler still needs a value.
      return new Response(null, { status: 200 });
    },
  };
}

function tlsOptions(tls: UpstreamTls): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  if (tls.ca !== undefined) t.ca = tls.ca;
  if (tls.serverName !== undefined) t.serverName = tls.serverName;
  if (tls.rejectUnauthorized !== undefined) t.rejectUnauthorized = tls.rejectUnauthorized;
  return t;
}

/** Opens a backend WebSocket with Bun's client. */
export const bunConnectWebSocket: ConnectWebSocket = (url, options) => {
  const init: Record<string, unknown> = { headers: Object.fromEntries(options.headers), protocols: options.protocols };
  if (options.tls) init.tls = tlsOptions(options.tls);
  // Bun's client adds terminate/pause/resume to the standard WebSocket (not in lib.dom's type).
  const ws = new WebSocket(url, init as unknown as string[]) as WebSocket & { terminate(): void; pause(): boolean; resume(): boolean };
  // "WebSocket connection to '...' failed: Expected 101 status code: 403"
  return wireUpstreamWebSocket(ws, options.events, { status: /Expected 101 status code: (\d{3})/, prefix: /^WebSocket connection to '[^']*' failed: / }, {
    terminate: () => ws.terminate(),
    pause: () => void ws.pause(),
    resume: () => void ws.resume(),
    canPause: true,
  });
};
