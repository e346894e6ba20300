import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { presentedCn, testCerts, type CertPair, type TestCerts } from "../helpers/certs.ts";
import { startHttpBackend } from "../helpers/health-backends.ts";
import { startTenbin, startTenbinInProcess } from "../helpers/tenbin.ts";

const backend = startHttpBackend(async (req) => {
  if (new URL(req.url).pathname === "/slow") await Bun.sleep(600);
  return new Response("ok");
});
afterAll(() => backend.stop());

/** A directory of its own for the files tenbin serves (`live.crt`, `live.key`). */
function liveDir(): string {
  return mkdtempSync(join(tmpdir(), "tenbin-live-"));
}

/** Copies a pair over the live files the way a renewal does: new files renamed into place. */
function install(dir: string, from: CertPair): void {
  copyFileSync(from.key, join(dir, "live.key.new"));
  copyFileSync(from.cert, join(dir, "live.crt.new"));
  renameSync(join(dir, "live.key.new"), join(dir, "live.key"));
  renameSync(join(dir, "live.crt.new"), join(dir, "live.crt"));
}

function tlsConfig(dir: string, watch: string): string {
  return `
admin: { enabled: false }
listeners:
  - name: web
    listen: 127.0.0.1:0
    tls:
      watch_interval: ${watch}
      certificates: [{ cert: ${join(dir, "live.crt")}, key: ${join(dir, "live.key")} }]
    routes: [{ pool: app }]
pools:
  app: { servers: [{ url: "${backend.url}" }] }
`;
}

async function waitForCn(port: number, cn: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await presentedCn(port, "a.test")) === cn) return;
    await Bun.sleep(100);
  }
  throw new Error(`the listener never presented ${cn}`);
}

test("changed certificate files serve new handshakes while a keep-alive client keeps working", async () => {
  const certs: TestCerts = await testCerts();
  const dir = liveDir();
  install(dir, certs.a);
  const t = await startTenbinInProcess(tlsConfig(dir, "100ms"));
  const port = t.port("web");
  const ca = await Bun.file(certs.ca).text();
  const url = `https://127.0.0.1:${port}/`;
  try {
    expect(await presentedCn(port, "a.test")).toBe("a.test");
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    // One client with keep-alive connections, requesting without pause across the swap.
    const loop = (async () => {
      for (let i = 0; running && i < 100_000; i++) {
        try {
          const res = await fetch(url, { tls: { ca } } as RequestInit);
          if ((await res.text()) === "ok") ok++;
          else failures.push(`status ${res.status}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    })();
    const slow = fetch(`${url}slow`, { tls: { ca } } as RequestInit).then((r) => r.text());
    await Bun.sleep(150);
    install(dir, certs.a2);
    await waitForCn(port, "a.test second");
    const okAtSwap = ok;
    await Bun.sleep(200);
    running = false;
    await loop;
    expect(await slow).toBe("ok"); // in flight on the old listener during the swap
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(okAtSwap); // and requests went on after it
    expect(t.logger.lines.join("\n")).toContain("listener web: certificates reloaded");
    expect(t.port("web")).toBe(port);
  } finally {
    await t.stop();
  }
});

test("files that cannot be used leave the running certificates in place", async () => {
  const certs = await testCerts();
  const dir = liveDir();
  install(dir, certs.a);
  const t = await startTenbinInProcess(tlsConfig(dir, "50ms"));
  try {
    // A key of another certificate: the pair does not match.
    copyFileSync(certs.b.key, join(dir, "live.key"));
    for (let i = 0; i < 40 && !t.logger.lines.some((l) => l.includes("cannot be used")); i++) await Bun.sleep(50);
    expect(t.logger.lines.join("\n")).toContain("listener web: certificate files changed but cannot be used; still serving the previous ones: private key");
    expect(await presentedCn(t.port("web"), "a.test")).toBe("a.test");
  } finally {
    await t.stop();
  }
});

test("SIGHUP reloads the certificates of a running tenbin process", async () => {
  const certs = await testCerts();
  const dir = liveDir();
  install(dir, certs.a);
  const t = await startTenbin(tlsConfig(dir, "0s"));
  try {
    const port = t.port("web");
    expect(await presentedCn(port, "a.test")).toBe("a.test");
    install(dir, certs.a2);
    t.proc.kill("SIGHUP");
    await waitForCn(port, "a.test second");
    expect(t.port("web")).toBe(port);
  } finally {
    expect(await t.stop()).toBe(0);
  }
});
