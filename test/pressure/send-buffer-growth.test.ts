// Waiting for room (`TcpConn.room`) must not keep a send buffer small: Linux grows a TCP send buffer
// only after a write did not fit, so a writer that always waits for room before writing leaves it
// where it started (69 KB with a 1,500-byte MTU), and a far client's download with it (seen: 300 MB
// over such a link at 116 MB/s against 1.36 GB/s, the buffer stuck at 69,120 bytes). `room()`
// therefore waits only once the buffer is at the kernel's maximum (tcp_wmem), where loopback
// sockets start. Run in a network namespace of its own whose loopback has a 1,500-byte MTU, as a
// far client's connection has.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";

const ns = `tenbin-sbg-${process.pid}`;
const canNetns = process.platform === "linux" && process.getuid?.() === 0 && Bun.which("ip") !== null && Bun.which("ss") !== null;
const dir = mkdtempSync(join(tmpdir(), "tenbin-sbg-"));
afterAll(() => {
  if (canNetns) Bun.spawnSync(["ip", "netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
});

// A server that sends 100 MB the way pipeBody does (room first, then write, drain after a short
// write) to a client that reads at full speed, then prints its socket's send buffer (ss: `tb`).
const script = `
import { bunRuntime } from ${JSON.stringify(resolve(import.meta.dir, "../../src/runtime/bun.ts"))};
setTimeout(() => { console.log("timeout"); process.exit(1); }, 20000);
const chunk = new Uint8Array(64 * 1024).fill(1);
let wake = () => {};
let port = 0;
const listener = await bunRuntime.listenTcp({
  hostname: "127.0.0.1",
  port: 0,
  accept: (conn) => {
    void (async () => {
      for (let sent = 0; sent < 100_000_000; sent += chunk.byteLength) {
        const room = conn.room(128 * 1024);
        if (room !== undefined) await room;
        if (!conn.write(chunk)) await new Promise((r) => (wake = r));
      }
      const ss = Bun.spawnSync(["ss", "-tmnH", "state", "established", "sport = :" + port]).stdout.toString();
      console.log("tb=" + (/\\btb(\\d+)/.exec(ss)?.[1] ?? "none"));
      process.exit(0);
    })();
    return { data() {}, drain: () => wake(), end() {}, close() {} };
  },
});
port = listener.port;
await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
`;

test.skipIf(!canNetns)("a send buffer still grows while its writer waits for room (1,500-byte MTU)", () => {
  for (const cmd of [["ip", "netns", "add", ns], ["ip", "-n", ns, "link", "set", "lo", "up"], ["ip", "-n", ns, "link", "set", "lo", "mtu", "1500"]]) {
    expect(Bun.spawnSync(cmd).exitCode).toBe(0);
  }
  const file = join(dir, "send.ts");
  writeFileSync(file, script);
  const run = Bun.spawnSync(["ip", "netns", "exec", ns, process.execPath, file], { timeout: 30_000 });
  const out = run.stdout.toString();
  const tb = Number(/tb=(\d+)/.exec(out)?.[1]);
  // It starts at ~69 KB here; the kernel grows it toward tcp_wmem's maximum (4 MB by default).
  expect(tb).toBeGreaterThan(1_000_000);
}, 40_000);
