// Route bypass by spelling (docs/paths.md), on both HTTP engines, with real curl --path-as-is
// requests and backends that echo the target they got on the wire: every spelling of /admin/ takes
// the /admin/ route, the server receives the normalized path (or the path as sent when so set), and
// `tenbin route` says the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { curl } from "../helpers/certs.ts";
import { answer, type RawBackend, startRawBackend } from "../helpers/raw-http-backend.ts";
import { BUN, ROOT, startTenbinInProcess, writeConfig } from "../helpers/tenbin.ts";

let admin: RawBackend;
let site: RawBackend;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;
let yaml = "";

beforeAll(async () => {
  admin = await startRawBackend((req, conn) => conn.send(answer(`admin ${req.target}`)));
  site = await startRawBackend((req, conn) => conn.send(answer(`site ${req.target}`)));
  const routes = "routes: [{ match: { path: /admin/ }, pool: admin }, { pool: site }]";
  yaml = `
admin: { enabled: false }
listeners:
  - { name: tenbin, engine: tenbin, listen: 127.0.0.1:0, ${routes} }
  - { name: runtime, engine: runtime, listen: 127.0.0.1:0, ${routes} }
  - { name: tenbin-raw, engine: tenbin, listen: 127.0.0.1:0, paths: { forward: as_received, merge_slashes: false }, ${routes} }
  - { name: runtime-raw, engine: runtime, listen: 127.0.0.1:0, paths: { forward: as_received, merge_slashes: false }, ${routes} }
  - { name: tenbin-ci, engine: tenbin, listen: 127.0.0.1:0, paths: { case_insensitive: true }, ${routes} }
  - { name: runtime-ci, engine: runtime, listen: 127.0.0.1:0, paths: { case_insensitive: true }, ${routes} }
pools:
  admin: { servers: [{ url: "${admin.origin}" }] }
  site: { servers: [{ url: "${site.origin}" }] }
`;
  t = await startTenbinInProcess(yaml);
});

afterAll(async () => {
  await t?.stop();
  await Promise.all([admin?.stop(), site?.stop()]);
});

async function get(listener: string, path: string): Promise<string> {
  const { code, out, err } = await curl(["--path-as-is", "-w", " %{http_code}", `http://127.0.0.1:${t.port(listener)}${path}`]);
  if (code !== 0) throw new Error(`curl failed: ${err}`);
  return out.replace(/^[^\n]*\n\s*request id: \S+\n/, "");
}

// Runtime-forced: Bun.serve turns `\` into `/` and resolves dot segments before tenbin sees the path.
const SPELLINGS: [string, string][] = [
  ["/admin/x", "admin /admin/x 200"],
  ["/%61dmin/x", "admin /admin/x 200"],
  ["/%61%64%6D%69%6E/x?q=%61", "admin /admin/x?q=%61 200"],
  ["/x/../admin/x", "admin /admin/x 200"],
  ["/x/%2e%2e/admin/x", "admin /admin/x 200"],
  ["//admin/x", "admin /admin/x 200"],
  ["/admin;x=1/y", "admin /admin;x=1/y 200"],
  ["/public/..;/admin/y", "admin /public/..;/admin/y 200"],
  ["/admin\\x", "admin /admin/x 200"],
  ["/ADMIN/x", "site /ADMIN/x 200"],
  ["/a%2fdmin/x", "site /a%2Fdmin/x 200"],
  ["/site/x", "site /site/x 200"],
];

for (const engine of ["tenbin", "runtime"]) {
  describe(`engine: ${engine}`, () => {
    test("every spelling of /admin/ takes the /admin/ route, and the server gets the normalized path", async () => {
      for (const [path, want] of SPELLINGS) expect([path, await get(engine, path)]).toEqual([path, want]);
    });

    test("a dot-dot hidden behind an encoded slash is refused with 400", async () => {
      for (const path of ["/x/..%2fadmin/x", "/x/%2e%2e%2Fadmin/x"]) {
        expect([path, (await get(engine, path)).slice(-3)]).toEqual([path, "400"]);
      }
    });

    test("forward: as_received sends the path as the client did; merge_slashes: false keeps // apart", async () => {
      expect(await get(`${engine}-raw`, "/%61dmin/x")).toBe("admin /%61dmin/x 200");
      expect(await get(`${engine}-raw`, "//admin/x")).toBe("site //admin/x 200");
    });

    test("case_insensitive: /ADMIN/x takes the /admin/ route and keeps its case on the way", async () => {
      expect(await get(`${engine}-ci`, "/ADMIN/x")).toBe("admin /ADMIN/x 200");
    });
  });
}

test("tenbin route shows what the proxy does", async () => {
  // One listener of the same shape (a config check refuses listeners sharing a port).
  const file = writeConfig(`${yaml.split("\n").filter((line) => !line.includes("- { name:") || line.includes("name: tenbin,")).join("\n")}`.replace("127.0.0.1:0", "127.0.0.1:18081"));
  const routeOf = async (path: string) => {
    const proc = Bun.spawn([BUN, `${ROOT}/src/main.ts`, "route", "-c", file, "GET", `http://127.0.0.1:18081${path}`], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return out + err;
  };
  const out = await routeOf("/%61dmin/x");
  expect(out).toContain("path: /admin/x (normalized; the server receives this)");
  expect(out).toContain("pool: admin");
  expect(await routeOf("/x/..%2fadmin/x")).toContain("refused (the client gets 400)");
  expect(await routeOf("/site/x")).toContain("pool: site");
});
