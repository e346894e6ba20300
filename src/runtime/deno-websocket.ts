/**
 * WebSocket proxying on Deno: `Deno.upgradeWebSocket` on the client side, the standard WebSocket
 * client (with Deno's `headers` and `client` options) towards the backends. Deno's sockets cannot
 * pause reading, and they say so with `canPause: false`: backpressure is then up to Deno's buffers.
 */
import type { ConnectWebSocket, DownstreamWebSocket, UpstreamWebSocket, WebSocketData, WebSocketUpgrader } from "./websocket-types.ts";

/** The slice of `Deno` used here. */
export interface DenoWebSocketApi {
  upgradeWebSocket(req: Request, options: { protocol?: string }): { socket: WebSocket; response: Response };
}

function byteLength(data: WebSocketData): number {
  return typeof data === "string" ? data.length || 1 : data.byteLength || 1;
}

function data(e: MessageEvent): WebSocketData {
  return typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer);
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
    ws.binaryType = "arraybuffer";
    const { events } = options;
    let opened = false;
    let failed = false;
    ws.onopen = () => {
      opened = true;
      events.open();
    };
    ws.onmessage = (e) => events.message(data(e));
    ws.onerror = (e) => {
      if (opened || failed) return;
      failed = true;
      const message = String((e as ErrorEvent).message ?? "connection failed");
      // "NetworkError: failed to connect to WebSocket: Invalid status code: 403"
      const status = /Invalid status code: (\d{3})/.exec(message)?.[1];
      events.fail(message.replace(/^NetworkError: /, ""), status === undefined ? undefined : Number(status));
    };
    ws.onclose = (e) => {
      if (opened) events.close(e.code, e.reason);
      else if (!failed) {
        failed = true;
        events.fail(`closed before opening (${e.code})`, undefined);
      }
    };
    const upstream: UpstreamWebSocket = {
      get protocol() {
        return ws.protocol;
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      send: (message) => ws.send(message as string),
      close: (code, reason) => ws.close(code, reason),
      terminate: () => ws.close(),
      pause() {},
      resume() {},
      canPause: false,
    };
    return upstream;
  };
}
