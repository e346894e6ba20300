/**
 * Slow-draining uploads (issue 21, item 1, request bodies): CLIENTS clients upload a SIZE_MB body
 * through the proxy to a server that reads request bodies at RATE bytes a second (a Python thread per
 * connection: `recv(1024)` then a sleep, so the server's own reads are truly small), for SECONDS.
 * Reports the proxy's VmRSS when idle, its peak and its value at the end while the uploads hang,
 * and 15 s after they were cut. What tenbin holds per upload is what it read from the client and
 * could not pass on.
 *
 *   bun bench/pressure-slow-uploads.ts [--proxy tenbin|haproxy] [--engine tenbin|runtime]
 *     [--clients 100] [--size-mb 10] [--rate 1024] [--seconds 30] [--main src/main.ts]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { percentOver, sampleRss, startPressureProxy, waitProxyReady } from "./pressure-proxy.ts";
import { freePort } from "./process.ts";

const { values } = parseArgs({
  options: {
    proxy: { type: "string", default: "tenbin" },
    engine: { type: "string", default: "tenbin" },
    clients: { type: "string", default: "100" },
    "size-mb": { type: "string", default: "10" },
    rate: { type: "string", default: "1024" },
    seconds: { type: "string", default: "30" },
    main: { type: "string", default: resolve(import.meta.dir, "../src/main.ts") },
  },
});
const HOST = "127.0.0.1";
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const dir = mkdtempSync(join(tmpdir(), "tenbin-uploads-"));
const bodyFile = join(dir, "body");
writeFileSync(bodyFile, new Uint8Array(Number(values["size-mb"]) * 1_000_000).fill(120));

// The server: answers GET / at once (readiness), reads any other request's body slowly, forever.
const backendPort = await freePort(HOST);
writeFileSync(join(dir, "backend.py"), `
import socket, threading, time
RATE = ${Number(values.rate)}
def serve(c):
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        b = c.recv(4096)
        if not b: return
        head += b
    if head.startswith(b"GET "):
        c.sendall(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\nok")
        c.close()
        return
    while True:
        if not c.recv(min(1024, RATE)): return
        time.sleep(min(1024, RATE) / RATE)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("${HOST}", ${backendPort}))
s.listen(1024)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`);
const backend = Bun.spawn(["python3", join(dir, "backend.py")], { stdout: "ignore", stderr: "inherit" });
const proxy = await startPressureProxy({ proxy: values.proxy!, engine: values.engine!, main: values.main!, host: HOST, backendPort, dir });
const { port, rssMb } = proxy;
const url = `http://${HOST}:${port}/upload`;
const curl = (extra: string[]) => Bun.spawn(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", ...extra], { stdout: "pipe", stderr: "ignore" });

const stopAll = () => {
  proxy.kill();
  backend.kill("SIGKILL");
};
await waitProxyReady(async () => (await new Response(curl(["--max-time", "5", `http://${HOST}:${port}/`]).stdout).text()) === "200", stopAll);
await Bun.sleep(2000);
const idle = rssMb();
const uploads = Array.from({ length: CLIENTS }, () => curl(["--max-time", String(SECONDS), "-H", "expect:", "--data-binary", `@${bodyFile}`, url]));
const { peak, during } = await sampleRss(rssMb, idle, SECONDS);
await Promise.all(uploads.map((u) => u.exited));
await Bun.sleep(15_000);
const after15 = rssMb();
const pct = (x: number) => percentOver(x, idle);
console.log(JSON.stringify({ proxy: values.proxy, engine: values.proxy === "tenbin" ? values.engine : undefined, clients: CLIENTS, sizeMb: Number(values["size-mb"]), rate: Number(values.rate), seconds: SECONDS, idleMb: idle, peakMb: peak, duringMb: during, duringPct: pct(during), peakPct: pct(peak), after15sMb: after15, after15Pct: pct(after15) }));
stopAll();
process.exit(0);
