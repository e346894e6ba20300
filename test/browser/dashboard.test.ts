/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core): it
 * loads, shows the demo config's pools, a server killed here turns red within its pool's probe
 * window, and the Drain / Enable buttons work. `UPDATE_SCREENSHOT=1` rewrites the docs' screenshot
 * (test/browser/dashboard.png); otherwise the screenshot goes to a temp dir.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { loadConfigText } from "../../src/config/load.ts";
import { type HttpBackend, startHttpBackend } from "../helpers/health-backends.ts";
import { ROOT, startTenbin, type TenbinProcess, writeConfig } from "../helpers/tenbin.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing; .ci/run installs the Debian package "chromium"`);

/** Requests for `/` (the web pool's traffic; probes and /api/ excluded) by backend name. */
const webRequests = new Map<string, number>();

/** Demo backends: answer after a few ms (so the sparklines move), /healthz for the probes. */
function demoBackend(name: string): HttpBackend {
  return startHttpBackend(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/") webRequests.set(name, (webRequests.get(name) ?? 0) + 1);
    await Bun.sleep(2 + Math.random() * 12);
    return Response.json({ backend: name });
  });
}

let backends: HttpBackend[] = [];
let tenbin: TenbinProcess | undefined;
let context: BrowserContext | undefined;
let profile = "";
let adminUrl = "";
let probeWindowMs = 0;

beforeAll(async () => {
  if (!hasChromium) return;
  backends = ["web-1", "web-2", "web-3"].map(demoBackend);
  // The demo config as shipped, with the admin listener moved to a free port.
  const demo = readFileSync(join(ROOT, "config/tenbin.yaml"), "utf8").replace(/^admin:.*\n/m, "");
  const env = {
    TENBIN_PORT: "0",
    TENBIN_DEMO_PORT_1: String(backends[0]!.port),
    TENBIN_DEMO_PORT_2: String(backends[1]!.port),
    TENBIN_DEMO_PORT_3: String(backends[2]!.port),
  };
  const yaml = `${demo}\nadmin: { listen: 127.0.0.1:0 }\n`;
  const health = loadConfigText(yaml, "demo.yaml", env).pools.web!.health!;
  // Down after `fall` failed probes, each at most interval·(1+jitter) apart, plus one probe timeout,
  // one dashboard poll (1 s) and a second of slack for a loaded machine.
  probeWindowMs = health.fall * health.interval * (1 + health.jitter) + health.timeout + 2000;
  tenbin = await startTenbin(writeConfig(yaml), { env });
  await tenbin.waitFor(/admin listening on http:\/\/127\.0\.0\.1:\d+/);
  adminUrl = `http://127.0.0.1:${/admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(tenbin.output())![1]}/`;
  profile = mkdtempSync(join(tmpdir(), "tenbin-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
    ],
    viewport: { width: 1240, height: 760 },
  });
}, 30_000);

afterAll(async () => {
  await context?.close();
  await tenbin?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Requests to the demo listener until `stop()` (bounded), so rates and sparklines have data. */
function traffic(base: string) {
  let running = true;
  const loop = async (path: string) => {
    for (let i = 0; i < 5000 && running; i++) {
      await fetch(base + path).then((r) => r.arrayBuffer(), () => undefined);
      await Bun.sleep(15);
    }
  };
  const done = Promise.all([loop("/"), loop("/"), loop("/api/items")]);
  return { stop: () => ((running = false), done) };
}

const row = (page: Page, pool: string, server: string) => page.locator(`section[data-pool="${pool}"] tr[data-server="${server}"]`);

test.skipIf(!hasChromium)("the dashboard shows the demo pools, a dead server in red, and drains servers", async () => {
  const load = traffic(tenbin!.url("/").replace(/\/$/, ""));
  try {
    const page = await context!.newPage();
    const consoleErrors: string[] = [];
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(adminUrl);
    await page.locator('section[data-pool="web"]').waitFor({ timeout: 5000 });
    expect(await page.locator("section[data-pool]").evaluateAll((els) => els.map((e) => e.getAttribute("data-pool")))).toEqual(["web", "api"]);
    expect(await page.locator('section[data-pool="web"] tbody tr').count()).toBe(3);
    expect(await page.locator('section[data-pool="api"] tbody tr').count()).toBe(2);
    await row(page, "web", "web-1").and(page.locator('[data-status="up"]')).waitFor({ timeout: 3000 });

    // Kill web-1: its probes fail, and within the probe window its row turns red.
    const killedAt = performance.now();
    await backends[0]!.stop();
    await row(page, "web", "web-1").and(page.locator('[data-status="down"]')).waitFor({ timeout: probeWindowMs });
    expect(performance.now() - killedAt).toBeLessThan(probeWindowMs);
    const color = await row(page, "web", "web-1").locator(".state").evaluate((el) => getComputedStyle(el).color);
    expect(color).toBe("rgb(217, 45, 32)");

    // Its Drain button drains it (kept while it is down, so it stays out when it comes back).
    await row(page, "web", "web-1").locator('button[data-action="drain"]').click();
    await row(page, "web", "web-1").and(page.locator('[data-drained="yes"]')).waitFor({ timeout: 3000 });
    const status = (await (await fetch(`${adminUrl}api/status`)).json()) as { pools: { name: string; servers: { name: string; overrides: { drain: boolean | null } }[] }[] };
    expect(status.pools.find((p) => p.name === "web")!.servers.find((s) => s.name === "web-1")!.overrides.drain).toBe(true);

    // Draining a live server turns it amber and it takes no new requests. (web-2 is also api-2
    // of the api pool, on the same port: only requests for the web pool count here.)
    await row(page, "web", "web-2").locator('button[data-action="drain"]').click();
    await row(page, "web", "web-2").and(page.locator('[data-status="draining"]')).waitFor({ timeout: 3000 });
    expect(await row(page, "web", "web-2").locator(".state").evaluate((el) => getComputedStyle(el).color)).toBe("rgb(220, 138, 6)");
    await Bun.sleep(100); // requests that had web-2 before the drain finish
    const servedBefore = webRequests.get("web-2");
    const web3Before = webRequests.get("web-3") ?? 0;
    await Bun.sleep(1500);
    expect(webRequests.get("web-2")).toBe(servedBefore!);
    expect(webRequests.get("web-3")!).toBeGreaterThan(web3Before);

    await Bun.sleep(process.env.UPDATE_SCREENSHOT ? 20_000 : 0); // a fuller sparkline for the README
    const shot = process.env.UPDATE_SCREENSHOT ? join(ROOT, "test/browser/dashboard.png") : join(profile, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");

    // Enable brings web-2 back.
    await row(page, "web", "web-2").locator('button[data-action="enable"]').click();
    await row(page, "web", "web-2").and(page.locator('[data-status="up"]')).waitFor({ timeout: 3000 });
    expect(consoleErrors).toEqual([]);
  } finally {
    await load.stop();
  }
}, 60_000);
