/** `watch: true` on a real tenbin process: saving the file reloads it; an invalid save keeps the old config. */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { fetchUntil, saveLikeEditor, startTenbin, writeConfig } from "../helpers/tenbin.ts";

const a = startHttpBackend(() => new Response("a"));
const b = startHttpBackend(() => new Response("b"));
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const config = (server: string, extra = "") => `admin: { enabled: false }
watch: true
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${server}" }]${extra} }
`;


test("a saved file is reloaded; an invalid one is reported with line:column and the old config stays", async () => {
  const file = writeConfig(config(a.url));
  const t = await startTenbin(file);
  try {
    expect(await (await fetch(t.url())).text()).toBe("a");
    saveLikeEditor(file, config(b.url));
    await fetchUntil(t.url(), "b");
    await t.waitFor(/reloaded \S+ trigger=watch/);

    writeFileSync(file, config(a.url, ", retries: lots"));
    await t.waitFor(/reload failed; still serving the previous config: \S+tenbin\.yaml:6:\d+ pools\.app\.retries.*\n/);
    expect(await (await fetch(t.url())).text()).toBe("b");
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 20_000);
