/**
 * The smallest Redis client the rate limits need: RESP2 over one `node:net` connection (both
 * runtimes have it), commands pipelined in order, each answer matched to the oldest waiting command.
 * It connects lazily (commands sent meanwhile wait in the socket), and after a failure again at most
 * once per `RECONNECT_MS`; a command sent while it is down fails at once, so a caller falls back
 * without waiting.
 */
import { connect, type Socket } from "node:net";

const RECONNECT_MS = 1000;

/** A RESP value: simple string, integer, bulk string (null when nil), array, or an error. */
export type RespValue = string | number | null | RespValue[] | Error;

/** A Redis connection from a `redis://[:password@]host:port[/db]` URL. */
export class RespClient {
  readonly #host: string;
  readonly #port: number;
  readonly #setup: string[][];
  #socket: Socket | undefined;
  #lastAttempt = -Infinity;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #waiting: { resolve: (v: RespValue) => void; reject: (e: Error) => void }[] = [];

  constructor(url: string) {
    const parsed = new URL(url);
    this.#host = parsed.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(parsed.port || 6379);
    this.#setup = [];
    if (parsed.password) this.#setup.push(parsed.username ? ["AUTH", decodeURIComponent(parsed.username), decodeURIComponent(parsed.password)] : ["AUTH", decodeURIComponent(parsed.password)]);
    const db = parsed.pathname.slice(1);
    if (db !== "" && db !== "0") this.#setup.push(["SELECT", db]);
  }

  /** Sends one command; rejects when the connection is down or fails before the answer. */
  command(args: readonly string[]): Promise<RespValue> {
    if (this.#socket === undefined) this.#connect();
    const socket = this.#socket;
    if (socket === undefined) return Promise.reject(new Error("redis is not connected"));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      // While it connects the socket queues the bytes, after the setup commands.
      socket.write(encode(args));
    });
  }

  /** Closes the connection; waiting commands fail. */
  close(): void {
    this.#socket?.destroy();
    this.#down(new Error("redis client closed"));
    this.#lastAttempt = Infinity;
  }

  #connect(): void {
    if (this.#socket !== undefined || performance.now() - this.#lastAttempt < RECONNECT_MS) return;
    this.#lastAttempt = performance.now();
    const socket = connect({ host: this.#host, port: this.#port });
    socket.setNoDelay(true);
    // A connection to Redis alone must not keep a stopping tenbin alive.
    socket.unref();
    this.#socket = socket;
    for (const args of this.#setup) {
      this.#waiting.push({ resolve: () => {}, reject: () => {} });
      socket.write(encode(args));
    }
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {}); // "close" follows and says it
    socket.on("close", () => {
      if (this.#socket === socket) this.#down(new Error("redis connection closed"));
    });
  }

  #down(error: Error): void {
    this.#socket = undefined;
    this.#buffer = Buffer.alloc(0);
    for (const w of this.#waiting.splice(0)) w.reject(error);
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const parsed = parse(this.#buffer, 0);
      if (parsed === undefined) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      const waiting = this.#waiting.shift();
      waiting?.resolve(parsed.value);
    }
  }
}

function encode(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/** One RESP value from `at`, or undefined when the buffer does not hold all of it yet. */
export function parse(buf: Buffer, at: number): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf("\r\n", at);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString("utf8", at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new Error(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, end);
        if (item === undefined) return undefined;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`bad RESP type ${JSON.stringify(type)}`);
  }
}
