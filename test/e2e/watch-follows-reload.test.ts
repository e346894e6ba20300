/**
 * tenbin watches its config file only while `watch` is on (main.ts), so a reload that turns `watch`
 * on must start watching. Real process, real file, real signals.
 */
import { afterAll, expect, test } from "bun:test";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { fetchUntil, saveLikeEditor, startTenbin, writeConfig } from "../helpers/tenbin.ts";

const a = startHttpBackend(() => new Response("a"));
const b = startHttpBackend(() => new Response("b"));
afterAll(async () => {
  await a.stop();
  await b.stop();
});

const config = (watch: boolean, server: string) => `admin: { enabled: false }
watch: ${watch}
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "${server}" }] }
`;



test("a config started without watch, reloaded by SIGHUP with watch on, then reloads on its own when saved", async () => {
  const file = writeConfig(config(false, a.url));
  const t = await startTenbin(file);
  try {
    expect(await (await fetch(t.url())).text()).toBe("a");
    saveLikeEditor(file, config(true, b.url));
    t.proc.kill("SIGHUP");
    await t.waitFor(/reloaded \S+ trigger=SIGHUP/);
    await fetchUntil(t.url(), "b");

    // Now watched: a save reloads by itself.
    saveLikeEditor(file, config(false, a.url));
    await t.waitFor(/reloaded \S+ trigger=watch/);
    await fetchUntil(t.url(), "a");
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 20_000);
