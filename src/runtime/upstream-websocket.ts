/**
 * The backend side of a proxied WebSocket on the standard `WebSocket` client, shared by Bun and Deno:
 * both only differ in how they word a refused handshake and in whether they can pause reading.
 */
import type { UpstreamEvents, UpstreamWebSocket, WebSocketData } from "./websocket-types.ts";

/** How a runtime's client words a refused handshake. */
export interface HandshakeFailureText {
  /** Captures the backend's status, e.g. `Expected 101 status code: (\d{3})`. */
  status: RegExp;
  /** The runtime's own prefix, removed from the reason. */
  prefix: RegExp;
}

/** What a runtime's client adds to the standard object. */
export type UpstreamControls = Pick<UpstreamWebSocket, "terminate" | "pause" | "resume" | "canPause">;

/** The message's payload as the proxy forwards it. */
export function messageData(e: MessageEvent): WebSocketData {
  return typeof e.data === "string" ? e.data : new Uint8Array(e.data as ArrayBuffer);
}

/** Wires `ws` to `events` and returns it as an `UpstreamWebSocket`. */
export function wireUpstreamWebSocket(ws: WebSocket, events: UpstreamEvents, failureText: HandshakeFailureText, controls: UpstreamControls): UpstreamWebSocket {
  ws.binaryType = "arraybuffer";
  let opened = false;
  let failed = false;
  ws.onopen = () => {
    opened = true;
    events.open();
  };
  ws.onmessage = (e: MessageEvent) => events.message(messageData(e));
  ws.onerror = (e: Event) => {
    if (opened || failed) return;
    failed = true;
    const message = String((e as ErrorEvent).message ?? "connection failed");
    const status = failureText.status.exec(message)?.[1];
    events.fail(message.replace(failureText.prefix, ""), status === undefined ? undefined : Number(status));
  };
  ws.onclose = (e: CloseEvent) => {
    if (opened) events.close(e.code, e.reason);
    else if (!failed) {
      failed = true;
      events.fail(`closed before opening (${e.code})`, undefined);
    }
  };
  return {
    get protocol() {
      return ws.protocol;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    send: (data) => ws.send(data as string),
    close: (code, reason) => ws.close(code, reason),
    ...controls,
  };
}
