// Sizes (issue 21, item 8): MB is decimal and says so; KiB/MiB/GiB are binary, so a 100 MiB upload
// fits `max_body: 100MiB` (it did not fit the default 100MB).
import { expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";
import { parseSize } from "../../src/config/units.ts";
import { renderJsonSchema } from "../../src/config/reference.ts";

const maxBody = (value: string) => {
  const config = loadConfigText(`
listeners: [{ name: web, listen: 127.0.0.1:0, max_body: ${value}, routes: [{ pool: app }] }]
pools: { app: { servers: [{ url: "http://127.0.0.1:8080" }] } }
`, "t.yaml", {});
  const listener = config.listeners[0]!;
  return listener.mode === "http" ? listener.max_body : undefined;
};

test("KB/MB/GB are decimal, KiB/MiB/GiB binary, any case", () => {
  expect([maxBody("100MB"), maxBody("100MiB"), maxBody("100mib"), maxBody("1.5GiB"), maxBody("64KiB"), maxBody("2GB")])
    .toEqual([100_000_000, 104_857_600, 104_857_600, 1_610_612_736, 65_536, 2_000_000_000]);
  expect(parseSize("100 MiB")).toBe(104_857_600);
  expect(100 * 1024 * 1024).toBeGreaterThan(maxBody("100MB")!); // why the upload got 413
});

test("the reference says which unit MB is, and so does the error", () => {
  const text = renderJsonSchema();
  expect(text).toContain("1MB = 1,000,000 bytes");
  expect(text).toContain("1MiB = 1,048,576 bytes");
  expect(() => maxBody("100MBs")).toThrow(/t\.yaml:2:\d+.*bad size "100MBs".*1MB = 1,000,000 bytes/s);
});
