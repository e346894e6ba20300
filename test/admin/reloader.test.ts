import { describe, expect, test } from "bun:test";
import { Reloader } from "../../src/admin/reloader.ts";
import { loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/observe/log.ts";

const GOOD = `
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "http://127.0.0.1:1" }] }
`;
const BAD = `
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app: { servers: [{ url: "http://127.0.0.1:1", weight: -2 }] }
`;

function setup(source: { text: string }) {
  const applied: Config[] = [];
  const counts = { succeeded: 0, failed: 0 };
  const logger = memoryLogger();
  let gate: Promise<void> = Promise.resolve();
  const reloader = new Reloader({
    load: async () => loadConfigText(source.text, "t.yaml", {}),
    apply: async (config) => {
      await gate;
      applied.push(config);
    },
    logger,
    counts,
    source: "t.yaml",
  });
  return { reloader, applied, counts, logger, hold: (p: Promise<void>) => (gate = p) };
}

describe("Reloader", () => {
  test("starts with the initial load as its last result", () => {
    const { reloader } = setup({ text: GOOD });
    expect(reloader.last).toMatchObject({ ok: true, trigger: "start", message: "loaded t.yaml" });
  });

  test("applies a valid config and counts it", async () => {
    const { reloader, applied, counts } = setup({ text: GOOD });
    const result = await reloader.reload("SIGHUP");
    expect(result).toMatchObject({ ok: true, trigger: "SIGHUP", errors: [] });
    expect(applied).toHaveLength(1);
    expect(counts).toEqual({ succeeded: 1, failed: 0 });
    expect(reloader.last).toBe(result);
  });

  test("keeps the old config on an invalid file and reports line:column", async () => {
    const { reloader, applied, counts, logger } = setup({ text: BAD });
    const result = await reloader.reload("api");
    expect(result.ok).toBe(false);
    expect(applied).toHaveLength(0);
    expect(counts).toEqual({ succeeded: 0, failed: 1 });
    expect(result.errors[0]).toMatchObject({ file: "t.yaml", line: 5, path: "pools.app.servers[0].weight" });
    expect(result.errors[0]!.column).toBeGreaterThan(0);
    expect(result.message).toStartWith("reload failed; still serving the previous config: t.yaml:5:");
    expect(logger.lines.some((l) => l.includes("reload failed"))).toBe(true);
  });

  test("a failure of apply (a port in use) is a failed reload too", async () => {
    const counts = { succeeded: 0, failed: 0 };
    const reloader = new Reloader({
      load: async () => loadConfigText(GOOD, "t.yaml", {}),
      apply: () => Promise.reject(new Error("address in use")),
      logger: memoryLogger(),
      counts,
      source: "t.yaml",
    });
    const result = await reloader.reload("watch");
    expect(result).toMatchObject({ ok: false, errors: [] });
    expect(result.message).toContain("address in use");
  });

  test("never runs two at once; requests during one coalesce into one more", async () => {
    const { reloader, applied, hold } = setup({ text: GOOD });
    let open!: () => void;
    hold(new Promise<void>((resolve) => (open = resolve)));
    const first = reloader.reload("a");
    const second = reloader.reload("b");
    const third = reloader.reload("c");
    expect(second).toBe(third);
    await Promise.resolve();
    expect(applied).toHaveLength(0);
    open();
    await Promise.all([first, second, third]);
    expect(applied).toHaveLength(2);
  });
});
