/**
 * Peers for the slow-reader tests (test/pressure/): an HTTP server answering with `fetch`, an HTTP
 * server that reads nothing it is sent (a stuck upload target), a TCP server that sends `download`
 * to whoever connects, and tenbin in this process in front of them on an instrumented runtime:
 * listener `web` (path /sink to the stuck server, anything else to `fetch`'s) and `tcp` (to the
 * TCP server).
 */
import { startL4Tenbin, watchedRuntime } from "./l4-tenbin.ts";

/** Starts the peers and tenbin; `stop()` ends them all. */
export async function startSlowPeers(fetch: (req: Request) => Response | Promise<Response>, download: Uint8Array) {
  const app = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch });
  const sink = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (s) => s.pause(), data() {} } });
  // Bun's write takes what the kernel takes; the rest goes on `drain`.
  const sendOn = (s: Bun.Socket<{ sent: number }>) => {
    while (s.data.sent < download.byteLength) {
      const n = s.write(download, s.data.sent, download.byteLength - s.data.sent);
      if (n <= 0) return;
      s.data.sent += n;
    }
  };
  const source = Bun.listen<{ sent: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: { open: (s) => ((s.data = { sent: 0 }), sendOn(s)), drain: sendOn, data() {} },
  });
  const { runtime, watch } = watchedRuntime();
  const lb = await startL4Tenbin(`
admin: { enabled: false }
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ match: { path: /sink }, pool: sink }, { pool: app }] }
  - { name: tcp, listen: 127.0.0.1:0, mode: tcp, pool: source }
pools:
  app: { servers: [{ url: "http://127.0.0.1:${app.port}" }] }
  sink: { servers: [{ url: "http://127.0.0.1:${sink.port}" }] }
  source: { servers: [{ url: "tcp://127.0.0.1:${source.port}" }] }
`, runtime);
  return {
    app,
    sink,
    source,
    lb,
    watch,
    async stop(): Promise<void> {
      await lb.stop();
      app.stop(true);
      sink.stop(true);
      source.stop(true);
    },
  };
}
