/**
 * WebSocket proxying on Deno: `Deno.upgradeWebSocket` on the client side, the standard WebSocket
 * client (with Deno's `headers` and `client` options) towards the backends. Deno's sockets cannot
 * pause reading, and they say so with `canPause: false`: backpressure is then up to Deno's buffers.
 */
import { messageData as data, wireUpstreamWebSocket } from "./upstream-websocket.ts";
import type { ConnectWebSocket, DownstreamWebSocket, WebSocketData, WebSocketUpgrader } from "./websocket-types.ts";

/** The slice of `Deno` used here. */
export interface DenoWebSocketApi {
  upgradeWebSocket(req: Request, options: { protocol?: string }): { socket: WebSocket; response: Response };
}

function byteLength(data: WebSocketData): number {
  return typeof data === "string" ? data.length || 1 : data.byteLength || 1;
}

/** The upgrader handed to every HTTP handler on Deno. */
export function denoUpgrader(api: DenoWebSocketApi): WebSocketUpgrader {
  return {
    accept(req, init) {
      let upgraded: { socket: WebSocket; response: Response };
      try {
        upgraded = api.upgradeWebSocket(req, init.protocol ? { protocol: init.protocol } : {});
      } catch {
        return undefined;
      }
      const { socket, response } = upgraded;
      for (const [name, value] of init.headers ?? []) response.headers.append(name, value);
      socket.binaryType = "arraybuffer";
      const peer: DownstreamWebSocket = {
        send(message) {
          if (socket.readyState !== WebSocket.OPEN) return 0;
          socket.send(message as string);
          return byteLength(message);
        },
        close: (code, reason) => socket.close(code, reason),
        terminate: () => socket.close(),
        pause() {},
        resume() {},
        canPause: false,
      };
      socket.onopen = () => init.events.open(peer);
      socket.onmessage = (e) => init.events.message(data(e));
      socket.onclose = (e) => init.events.close(e.code, e.reason);
      return response;
    },
  };
}

/** Opens a backend WebSocket; `client` makes the Deno HTTP client carrying the TLS settings. */
export function denoConnectWebSocket(clientFor: (tls: Parameters<ConnectWebSocket>[1]["tls"]) => unknown): ConnectWebSocket {
  return (url, options) => {
    const init: Record<string, unknown> = { headers: options.headers, protocols: options.protocols };
    if (options.tls) init.client = clientFor(options.tls);
    const ws = new WebSocket(url, init as unknown as string[]);
    // "NetworkError: failed to connect to WebSocket: Invalid status code: 403"
    return wireUpstreamWebSocket(ws, options.events, { status: /Invalid status code: (\d{3})/, prefix: /^NetworkError: / }, {
      terminate: () => ws.close(),
      pause() {},
      resume() {},
      canPause: false,
    });
  };
}
