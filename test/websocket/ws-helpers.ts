/**
 * WebSocket backends and clients for the proxy tests: echo backends that say who they are and
 * record what they received, a raw handshake (to read the 101's headers, which the WebSocket API
 * hides), and small waiting helpers with bounds.
 */
import { connect } from "node:net";

/** What one backend saw. */
export interface WsBackend {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Handshake requests received (accepted or not). */
  readonly handshakes: Request[];
  /** Messages received, over every connection, in arrival order. */
  readonly received: (string | Uint8Array)[];
  /** Close codes and reasons seen from tenbin. */
  readonly closes: { code: number; reason: string }[];
  /** Connections open now. */
  readonly open: number;
  stop(): void;
}

/**
 * An echo backend. On open it sends `hello from <name>`; it echoes every message, except that
 * `close:<code>:<reason>` makes it close with that code, and `push:<n>:<bytes>` makes it send n
 * binary messages of `bytes` bytes, each as soon as the connection takes it (waiting for `drain`
 * whenever a send was queued), counting them in `pushed`; `stall:<ms>` stops reading for that long.
 * `/deny` answers 403; the subprotocol chosen is the last one offered.
 */
export function startWsBackend(name: string): WsBackend & { pushed: number } {
  const handshakes: Request[] = [];
  const received: (string | Uint8Array)[] = [];
  const closes: { code: number; reason: string }[] = [];
  let open = 0;
  let pushed = 0;
  interface Push { next: number; count: number; bytes: number }
  const pump = (ws: Bun.ServerWebSocket<{ push: Push | undefined }>) => {
    const push = ws.data.push;
    while (push && push.next < push.count) {
      const i = push.next++;
      pushed++;
      if (ws.send(new Uint8Array(push.bytes).fill(i % 256)) === -1) return; // queued: wait for drain
    }
  };
  const server = Bun.serve<{ push: Push | undefined }>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      handshakes.push(req);
      if (new URL(req.url).pathname === "/deny") return new Response("denied", { status: 403 });
      const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
      const headers: Record<string, string> = offered.length > 0 ? { "sec-websocket-protocol": offered.at(-1)! } : {};
      if (srv.upgrade(req, { headers, data: { push: undefined } })) return undefined;
      return new Response("not a websocket", { status: 400 });
    },
    websocket: {
      maxPayloadLength: 64 * 1024 * 1024,
      open(ws) {
        open++;
        ws.send(`hello from ${name}`);
      },
      message(ws, message) {
        received.push(typeof message === "string" ? message : new Uint8Array(message));
        if (typeof message === "string" && message.startsWith("close:")) {
          const [, code, reason] = message.split(":");
          ws.close(Number(code), reason);
        } else if (typeof message === "string" && message.startsWith("stall:")) {
          ws.pause();
          setTimeout(() => ws.resume(), Number(message.slice(6)));
        } else if (typeof message === "string" && message.startsWith("push:")) {
          const [, count, bytes] = message.split(":").map(Number);
          ws.data.push = { next: 0, count: count!, bytes: bytes! };
          pump(ws);
        } else {
          ws.send(message);
        }
      },
      drain: (ws) => pump(ws),
      close(_ws, code, reason) {
        open--;
        closes.push({ code, reason });
      },
    },
  });
  return {
    name,
    port: server.port!,
    url: `http://127.0.0.1:${server.port!}`,
    handshakes,
    received,
    closes,
    get open() {
      return open;
    },
    get pushed() {
      return pushed;
    },
    stop: () => void server.stop(true),
  };
}

/** Opens a WebSocket and waits for it (bounded); rejects with the error message on failure. */
export function openWs(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options as unknown as string[]);
  ws.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no open within 5s: ${url}`)), 5000);
    ws.onopen = () => (clearTimeout(timer), resolve(ws));
    ws.onerror = (e) => (clearTimeout(timer), reject(new Error((e as ErrorEvent).message)));
  });
}

/** Collects the next `count` messages (bounded by `timeoutMs`). */
export function nextMessages(ws: WebSocket, count: number, timeoutMs = 10_000): Promise<(string | ArrayBuffer)[]> {
  const got: (string | ArrayBuffer)[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${count} messages`)), timeoutMs);
    ws.onmessage = (e) => {
      got.push(e.data as string | ArrayBuffer);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    };
  });
}

/** Waits for the close event (bounded). */
export function closed(ws: WebSocket, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no close within bound")), timeoutMs);
    ws.onclose = (e) => (clearTimeout(timer), resolve({ code: e.code, reason: e.reason }));
  });
}

/** Polls `condition` every 20 ms for at most `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited >= timeoutMs) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

/** Sends a WebSocket handshake by hand and returns the response's status and headers (then hangs up). */
export function rawHandshake(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => (socket.destroy(), reject(new Error("no handshake answer"))), 5000);
    let text = "";
    socket.on("connect", () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const parsed = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        parsed.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      resolve({ status: Number(statusLine!.split(" ")[1]), headers: parsed });
    });
    socket.on("error", (error) => (clearTimeout(timer), reject(error)));
  });
}
