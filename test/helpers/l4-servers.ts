/**
 * Small scripted TCP servers for the L4 tests: one that answers only after the client's FIN, one
 * that greets with its name, and one that reads a PROXY header with a parser of its own (written
 * from the specification, independent of src/proxy/proxy-protocol.ts) and reports what it said.
 */
import type { TcpBackend } from "./l4-backends.ts";

interface Counted {
  listener: Bun.TCPSocketListener<unknown>;
  open: Set<Bun.Socket<unknown>>;
  connections: () => number;
}

function backend(counted: Counted): TcpBackend {
  return {
    port: counted.listener.port,
    get connections() {
      return counted.connections();
    },
    get active() {
      return counted.open.size;
    },
    kill() {
      counted.listener.stop(true);
      for (const s of counted.open) s.terminate();
    },
  };
}

function listen(handlers: Bun.SocketHandler<{ buf: Buffer }>): Counted {
  let connections = 0;
  const open = new Set<Bun.Socket<unknown>>();
  const listener = Bun.listen<{ buf: Buffer }>({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      ...handlers,
      open(s) {
        connections++;
        open.add(s as Bun.Socket<unknown>);
        s.data = { buf: Buffer.alloc(0) };
        void handlers.open?.(s);
      },
      close(s, e) {
        open.delete(s as Bun.Socket<unknown>);
        void handlers.close?.(s, e);
      },
    },
  });
  return { listener: listener as Bun.TCPSocketListener<unknown>, open, connections: () => connections };
}

/** Counts the bytes it receives and, after the client's FIN, answers `bytes=N` and closes. */
export function startCountAfterFinServer(): TcpBackend {
  return backend(listen({
    data: (s, d) => void (s.data.buf = Buffer.concat([s.data.buf, d])),
    end: (s) => void s.end(`bytes=${s.data.buf.length}`),
  }));
}

/** Greets each connection with `name\n`, then echoes. */
export function startBannerServer(name: string): TcpBackend {
  return backend(listen({
    open: (s) => void s.write(`${name}\n`),
    data: (s, d) => void s.write(d),
  }));
}

/**
 * What the PROXY-reading server answers once the header and at least one byte after it arrived:
 * `v1 TCP4 src sport dst dport | rest`, or `bad`.
 */
export function startProxyReportServer(): TcpBackend {
  return backend(listen({
    data(s, d) {
      s.data.buf = Buffer.concat([s.data.buf, d]);
      const report = readProxy(s.data.buf);
      if (report !== undefined) s.end(report);
    },
  }));
}

const SIG = Buffer.from("0d0a0d0a000d0a515549540a", "hex");

/** An independent reading of the header: undefined until whole (and followed by data), then a one-line report. */
function readProxy(buf: Buffer): string | undefined {
  if (buf.subarray(0, 6).toString("latin1") === "PROXY ") {
    const end = buf.indexOf("\r\n");
    if (end < 0 || buf.length === end + 2) return undefined;
    const m = /^PROXY (TCP4|TCP6) (\S+) (\S+) (\d+) (\d+)$/.exec(buf.subarray(0, end).toString("latin1"));
    return m ? `v1 ${m[1]} ${m[2]} ${m[4]} ${m[3]} ${m[5]} | ${buf.subarray(end + 2).toString()}` : "bad";
  }
  if (buf.length < 16) return undefined;
  if (!buf.subarray(0, 12).equals(SIG) || buf[12] !== 0x21) return "bad";
  const len = buf.readUInt16BE(14);
  if (buf.length <= 16 + len) return undefined;
  const rest = buf.subarray(16 + len).toString();
  if (buf[13] === 0x11) {
    const ip = (at: number) => [0, 1, 2, 3].map((i) => buf[at + i]).join(".");
    return `v2 TCP4 ${ip(16)} ${buf.readUInt16BE(24)} ${ip(20)} ${buf.readUInt16BE(26)} | ${rest}`;
  }
  if (buf[13] === 0x21) {
    const ip = (at: number) => Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(at + 2 * i).toString(16)).join(":");
    return `v2 TCP6 ${ip(16)} ${buf.readUInt16BE(48)} ${ip(32)} ${buf.readUInt16BE(50)} | ${rest}`;
  }
  return "bad";
}
