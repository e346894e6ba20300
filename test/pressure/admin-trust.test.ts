// The admin plane does not trust a proxy on its own host (issue 21, item 7): `tenbin check` refuses
// a pool server that is the admin listener, a token-less admin refuses relayed requests, and a
// request without one Host (HTTP/1.0 without it, or two of them) is refused with 400 on both engines.
import { afterAll, describe, expect, test } from "bun:test";
import { createConnection } from "node:net";
import { loadConfigText } from "../../src/config/load.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

const stops: (() => Promise<unknown>)[] = [];
afterAll(() => Promise.all(stops.map((s) => s())));

/** Sends `bytes` on a fresh connection; what came back before the close (bounded by 3 s). */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port });
    let got = "";
    const timer = setTimeout(() => (sock.destroy(), resolve(got)), 3000);
    sock.on("connect", () => sock.write(bytes));
    sock.on("data", (d) => (got += d.toString("latin1")));
    sock.on("error", () => {});
    sock.on("close", () => (clearTimeout(timer), resolve(got)));
  });
}

describe("check: a pool server that is the admin listener", () => {
  const config = (server: string, admin = "127.0.0.1:9191") => `
admin: { listen: ${admin} }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools:
  app: { servers: [{ url: "http://127.0.0.1:8080" }, { url: "${server}" }] }
`;
  for (const [server, admin] of [["http://127.0.0.1:9191", undefined], ["http://localhost:9191/", undefined], ["http://127.0.0.1:9191", "0.0.0.0:9191"]] as const) {
    test(`${server} with admin on ${admin ?? "127.0.0.1:9191"} is refused, with the line`, () => {
      expect(() => loadConfigText(config(server, admin), "t.yaml", {})).toThrow(/t\.yaml:5:\d+.*is tenbin's own admin listener/s);
    });
  }
  test("another port passes", () => {
    expect(() => loadConfigText(config("http://127.0.0.1:9192"), "t.yaml", {})).not.toThrow();
  });
});

describe("a token-less admin refuses relayed requests", () => {
  test("forwarding headers are refused; a pool that proxies to the admin gets 403", async () => {
    const inner = await startTenbinInProcess(`
admin: { listen: 127.0.0.1:0 }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools: { app: { servers: [{ url: "http://127.0.0.1:9" }] } }
`);
    stops.push(inner.stop);
    const admin = `http://127.0.0.1:${inner.tenbin.adminAddress!.port}`;
    expect((await fetch(`${admin}/api/status`)).status).toBe(200);
    for (const header of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
      const res = await fetch(`${admin}/api/status`, { headers: { [header]: header === "forwarded" ? "for=203.0.113.9" : "203.0.113.9" } });
      expect([header, res.status]).toEqual([header, 403]);
    }
    // The case: a public listener whose pool points at the admin, with the admin's Host.
    const outer = await startTenbinInProcess(`
admin: { enabled: false }
listeners: [{ name: public, listen: 127.0.0.1:0, routes: [{ pool: admin }] }]
pools: { admin: { host_header: server, servers: [{ url: "${admin}" }] } }
`);
    stops.push(outer.stop);
    const res = await fetch(outer.url("/api/pools/app/disable"), { method: "POST" });
    expect(res.status).toBe(403);
    expect(inner.tenbin.pools.get("app")!.servers[0]!.disabled).toBe(false);
  });
});

describe("Host: none (HTTP/1.0, own engine) or two are refused with 400", () => {
  for (const engine of ["tenbin", "runtime"]) {
    test(`engine ${engine}`, async () => {
      const t = await startTenbinInProcess(`
admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, engine: ${engine}, routes: [{ pool: app }] }]
pools: { app: { servers: [{ url: "http://127.0.0.1:9" }] } }
`);
      stops.push(t.stop);
      const status = async (bytes: string) => Number((await exchange(t.port(), bytes)).slice(9, 12));
      // Without Host, the runtime's server makes the URL's authority up itself: only the own engine can tell.
      if (engine === "tenbin") expect(await status("GET / HTTP/1.0\r\n\r\n")).toBe(400);
      expect(await status("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n")).toBe(400);
      expect(await status("GET / HTTP/1.0\r\nHost: a.example\r\n\r\n")).toBe(502); // routed: the server is down
    });
  }
});
