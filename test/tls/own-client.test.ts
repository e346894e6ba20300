// engine: tenbin reaching https:// servers with its own HTTP/1.1 client (over runtime sockets with
// TLS): certificates made at test time, a node:tls backend that records the SNI name it was asked
// for, verification on by default (a certificate no configured CA signed is a 502), a self-signed
// certificate accepted when it is the ca_file, server_name as SNI, keep-alive reuse over TLS.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { run, testCerts, type TestCerts } from "../helpers/certs.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

let certs: TestCerts;
let selfSigned: { cert: string; key: string };
const backends: Server[] = [];
/** SNI names the backends were asked for, in order, and TLS connections accepted. */
const seen: string[] = [];
let accepted = 0;

/** An HTTPS/1.1 backend on node:tls answering `name sni path`, keep-alive. */
async function tlsBackend(pair: { cert: string; key: string }, name: string): Promise<number> {
  const options = {
    cert: readFileSync(pair.cert),
    key: readFileSync(pair.key),
    // Asked before the certificate is sent, so a client that refuses the certificate is seen too.
    SNICallback: (sni: string, callback: (error: Error | null) => void) => (seen.push(sni), callback(null)),
  };
  const server = createServer(options, (socket: TLSSocket) => {
    accepted++;
    const sni = socket.servername || "none";
    let buffered = "";
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      for (let end = buffered.indexOf("\r\n\r\n"); end >= 0; end = buffered.indexOf("\r\n\r\n")) {
        const path = buffered.slice(0, end).split(" ")[1];
        buffered = buffered.slice(end + 4);
        const body = `${name} ${sni} ${path}`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  server.on("tlsClientError", () => {});
  backends.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

let signed = 0;
let byName = 0;
let self = 0;

beforeAll(async () => {
  certs = await testCerts();
  selfSigned = { cert: join(certs.dir, "self.crt"), key: join(certs.dir, "self.key") };
  const made = await run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", selfSigned.key, "-out", selfSigned.cert, "-days", "1", "-subj", "/CN=self", "-addext", "subjectAltName=IP:127.0.0.1,DNS:self.test"]);
  if (made.code !== 0) throw new Error(made.err);
  signed = await tlsBackend(certs.a, "signed");
  byName = await tlsBackend(certs.backend, "byName");
  self = await tlsBackend(selfSigned, "self");
});

afterAll(() => {
  for (const server of backends) server.close();
});

async function withPools(pools: string, run: (t: Awaited<ReturnType<typeof startTenbinInProcess>>) => Promise<void>): Promise<void> {
  const t = await startTenbinInProcess(`
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools:
  app:
    retries: 0
${pools}
`);
  try {
    // engine: auto is tenbin's own server for https:// pools now.
    expect(t.tenbin.config.listeners[0]!.mode === "http" && t.tenbin.config.listeners[0]!.engine).toBe("tenbin");
    await run(t);
  } finally {
    await t.stop();
  }
}

// Bun.connect (1.4.5) sends an IP address as the SNI name when it is given none (RFC 6066 says not
// to); node:tls on Deno sends none. The certificate is checked against the IP either way.
const IP_SNI = process.versions.bun ? "127.0.0.1" : "none";

test("a private CA in ca_file verifies the server; requests reuse one TLS connection", async () => {
  await withPools(`    servers: [{ url: "https://127.0.0.1:${signed}" }]\n    tls: { ca_file: ${certs.ca} }`, async (t) => {
    const before = accepted;
    for (let i = 0; i < 3; i++) expect(await (await fetch(t.url(`/x${i}`))).text()).toBe(`signed ${IP_SNI} /x${i}`);
    expect(accepted - before).toBe(1);
  });
});

test("verification is on by default: no ca_file (system CAs) or the wrong CA is a 502 naming the failure", async () => {
  for (const tls of ["", `\n    tls: { ca_file: ${certs.otherCa} }`]) {
    await withPools(`    servers: [{ url: "https://127.0.0.1:${signed}" }]${tls}`, async (t) => {
      expect((await fetch(t.url("/"))).status).toBe(502);
      expect(t.logger.lines.join("\n")).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|certificate/);
    });
  }
});

test("a self-signed certificate is refused, and accepted when it is the ca_file", async () => {
  await withPools(`    servers: [{ url: "https://127.0.0.1:${self}" }]`, async (t) => {
    expect((await fetch(t.url("/"))).status).toBe(502);
    expect(t.logger.lines.join("\n")).toMatch(/SELF_SIGNED|self.signed/i);
  });
  await withPools(`    servers: [{ url: "https://127.0.0.1:${self}" }]\n    tls: { ca_file: ${selfSigned.cert} }`, async (t) => {
    expect(await (await fetch(t.url("/s"))).text()).toBe(`self ${IP_SNI} /s`);
  });
});

test("server_name is the SNI the backend sees and the name checked; a wrong one is a 502", async () => {
  await withPools(`    servers: [{ url: "https://127.0.0.1:${byName}", tls: { server_name: backend.internal } }]\n    tls: { ca_file: ${certs.ca} }`, async (t) => {
    expect(await (await fetch(t.url("/n"))).text()).toBe("byName backend.internal /n");
  });
  await withPools(`    servers: [{ url: "https://127.0.0.1:${byName}", tls: { server_name: other.internal } }]\n    tls: { ca_file: ${certs.ca} }`, async (t) => {
    expect((await fetch(t.url("/"))).status).toBe(502);
    expect(seen.at(-1)).toBe("other.internal");
    expect(t.logger.lines.join("\n")).toMatch(/ALTNAME/);
  });
});

test("insecure_skip_verify accepts any certificate", async () => {
  await withPools(`    servers: [{ url: "https://127.0.0.1:${byName}" }]\n    tls: { insecure_skip_verify: true }`, async (t) => {
    expect(await (await fetch(t.url("/i"))).text()).toBe(`byName ${IP_SNI} /i`);
  });
});

test("a WebSocket upgrade reaches an https:// server over TLS (a tunnel on engine: tenbin)", async () => {
  const wss = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: readFileSync(certs.a.cert, "utf8"), key: readFileSync(certs.a.key, "utf8") },
    fetch: (req, server) => (server.upgrade(req) ? undefined : new Response("no upgrade", { status: 400 })),
    websocket: { message: (ws, message) => void ws.send(`echo ${message}`) },
  });
  try {
    await withPools(`    servers: [{ url: "https://127.0.0.1:${wss.port}" }]\n    tls: { ca_file: ${certs.ca} }`, async (t) => {
      const ws = new WebSocket(`ws://127.0.0.1:${t.port()}/ws`);
      const reply = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no echo within 3s")), 3000);
        ws.onopen = () => ws.send("hi");
        ws.onmessage = (e) => (clearTimeout(timer), resolve(String(e.data)));
        ws.onerror = () => (clearTimeout(timer), reject(new Error("WebSocket failed")));
      });
      expect(reply).toBe("echo hi");
      ws.close();
    });
  } finally {
    wss.stop(true);
  }
});
