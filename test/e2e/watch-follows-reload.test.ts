/**
 * tenbin watches its config file only while `watch` is on (main.ts), so a reload that turns `watch`
 * on must start watching. Real process, real file, real signals.
 */
import { afterAll, expect, test } from "bun:test";
import { renameSync, writeFileSync } from "node:fs";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbin, writeConfig } from "../helpers/tenbin.ts";

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

/** Saves the way editors do: a temporary file renamed over the config. */
function save(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Fetches until the body is `want` (bounded: 200 tries, 20 ms apart). */
async function until(url: string, want: string): Promise<void> {
  let last = "";
  for (let i = 0; i < 200; i++) {
    last = await (await fetch(url)).text();
    if (last === want) return;
    await Bun.sleep(20);
  }
  throw new Error(`still "${last}" instead of "${want}"`);
}

test("a config started without watch, reloaded by SIGHUP with watch on, then reloads on its own when saved", async () => {
  const file = writeConfig(config(false, a.url));
  const t = await startTenbin(file);
  try {
    expect(await (await fetch(t.url())).text()).toBe("a");
    save(file, config(true, b.url));
    t.proc.kill("SIGHUP");
    await t.waitFor(/reloaded \S+ trigger=SIGHUP/);
    await until(t.url(), "b");

    // Now watched: a save reloads by itself.
    save(file, config(false, a.url));
    await t.waitFor(/reloaded \S+ trigger=watch/);
    await until(t.url(), "a");
  } finally {
    expect(await t.stop()).toBe(0);
  }
}, 20_000);
