/** The floors bench/ab.ts compares tenbin with (lean-proxy.ts, front-proxy.ts) still proxy. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { l7HttpConfigs } from "../../bench/configs/l7-http.ts";
import { freePort } from "../../bench/process.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = join(ROOT, "node_modules", ".bin", "bun");
const work = mkdtempSync(join(tmpdir(), "tenbin-bench-floors-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

for (const script of ["lean-proxy.ts", "front-proxy.ts"]) {
  test(`bench/${script} forwards keep-alive requests to the servers of an ab.ts config`, async () => {
    const seen: (string | null)[] = [];
    const backend = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        seen.push(req.headers.get("x-forwarded-for"));
        return new Response("b".repeat(1024));
      },
    });
    const listen = { host: "127.0.0.1", port: await freePort("127.0.0.1") };
    const config = join(work, `${script}.yaml`);
    writeFileSync(config, l7HttpConfigs.tenbin!({ listen, backends: [{ host: "127.0.0.1", port: backend.port as number }], workDir: work, workers: 1 }));
    const child = Bun.spawn({ cmd: [BUN, join(ROOT, "bench", script), config], stdout: "ignore", stderr: "inherit" });
    try {
      let body = "";
      for (let i = 0; i < 100 && body === ""; i++) {
        body = await fetch(`http://127.0.0.1:${listen.port}/1k`).then((r) => r.text(), () => "");
        if (body === "") await Bun.sleep(50);
      }
      expect(body).toBe("b".repeat(1024));
      for (let i = 0; i < 3; i++) expect(await (await fetch(`http://127.0.0.1:${listen.port}/1k`)).text()).toHaveLength(1024);
      if (script === "front-proxy.ts") expect(seen.at(-1)).toBe("127.0.0.1");
    } finally {
      child.kill();
      await child.exited;
      backend.stop(true);
    }
  });
}
