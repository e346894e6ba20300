/**
 * What makes a server's 101 a WebSocket handshake (RFC 6455 §4.1, client side, points 1-4): an
 * `Upgrade: websocket`, a `Connection` naming `upgrade`, and the `Sec-WebSocket-Accept` made from
 * the key the client sent. A tunnel opened on anything less would hand the client's connection to a
 * server that never agreed to speak WebSocket (a fake 101 from a compromised or confused server).
 */
import { createHash } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The `Sec-WebSocket-Accept` value that answers `key`. */
export function websocketAccept(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/**
 * Why the 101 with `fields` (lower-case names) does not answer the handshake whose key is `key`, or
 * undefined when it does.
 */
export function invalidSwitch(fields: readonly (readonly [string, string])[], key: string): string | undefined {
  let upgrade = "";
  let connection = "";
  let accept: string | undefined;
  let accepts = 0;
  for (const [name, value] of fields) {
    if (name === "upgrade") upgrade += `${value},`;
    else if (name === "connection") connection += `${value},`;
    else if (name === "sec-websocket-accept") {
      accept = value.trim();
      accepts++;
    }
  }
  if (!/^\s*websocket\s*,$/i.test(upgrade)) return "bad 101 from server: Upgrade is not websocket";
  if (!/(?:^|,)\s*upgrade\s*,/i.test(connection)) return "bad 101 from server: Connection does not name upgrade";
  if (accepts !== 1 || accept !== websocketAccept(key)) return "bad 101 from server: Sec-WebSocket-Accept does not match the key";
  return undefined;
}
