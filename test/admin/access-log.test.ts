import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AccessEntry, AccessLogs, AccessLogWriter, formatAccessEntry } from "../../src/observe/access-log.ts";

const ENTRY: AccessEntry = {
  time: Date.UTC(2025, 2, 4, 5, 6, 7, 800),
  client: "192.0.2.7",
  method: "GET",
  host: "example.com",
  path: "/a?b=1",
  status: 200,
  bytes: 512,
  durationMs: 12.3456,
  listener: "web",
  route: "api",
  pool: "app",
  server: "app-1",
  requestId: "rid-1",
  retries: 1,
  referer: "",
  userAgent: 'curl/8 "quoted"',
};

const tempFile = (name: string) => join(mkdtempSync(join(tmpdir(), "tenbin-log-")), name);

describe("formatAccessEntry", () => {
  test("json carries every documented field", () => {
    const line = formatAccessEntry("json", ENTRY);
    expect(line.endsWith("\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      time: "2025-03-04T05:06:07.800Z",
      client: "192.0.2.7",
      method: "GET",
      host: "example.com",
      path: "/a?b=1",
      status: 200,
      bytes: 512,
      duration_ms: 12.346,
      listener: "web",
      route: "api",
      pool: "app",
      server: "app-1",
      request_id: "rid-1",
      retries: 1,
      referer: null,
      user_agent: ENTRY.userAgent,
    });
    expect(JSON.parse(formatAccessEntry("json", { ...ENTRY, bytes: -1 })).bytes).toBeNull();
    const referred = JSON.parse(formatAccessEntry("json", { ...ENTRY, referer: "https://example.com/", userAgent: "" }));
    expect([referred.referer, referred.user_agent]).toEqual(["https://example.com/", null]);
  });

  test("combined starts like Apache's and appends tenbin's fields", () => {
    const line = formatAccessEntry("combined", ENTRY);
    expect(line).toBe(
      '192.0.2.7 - - [04/Mar/2025:05:06:07 +0000] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/8 \\"quoted\\""' +
        ' host="example.com" duration=0.012346 listener="web" route="api" pool="app" server="app-1" request_id="rid-1" retries=1\n',
    );
    expect(formatAccessEntry("combined", { ...ENTRY, bytes: -1, path: "/x\ny" })).toContain('"GET /x\\x0ay HTTP/1.1" 200 - ');
  });
});

describe("AccessLogWriter", () => {
  test("buffers lines and appends them to the file", async () => {
    const file = tempFile("access.log");
    const writer = new AccessLogWriter(file, { flushMs: 5 });
    expect(writer.write("one\n")).toBe(true);
    expect(writer.write("two\n")).toBe(true);
    expect(existsSync(file)).toBe(false); // nothing written on the request path
    await writer.flush();
    expect(readFileSync(file, "utf8")).toBe("one\ntwo\n");
    await writer.close();
    expect(writer.write("late\n")).toBe(false);
  });

  test("reopen() after logrotate moved the file writes to a new file at the path", async () => {
    const file = tempFile("access.log");
    const writer = new AccessLogWriter(file, { flushMs: 5 });
    writer.write("before\n");
    await writer.flush();
    renameSync(file, `${file}.1`);
    writer.write("still old\n");
    await writer.flush();
    writer.reopen();
    writer.write("after\n");
    await writer.close();
    expect(readFileSync(`${file}.1`, "utf8")).toBe("before\nstill old\n");
    expect(readFileSync(file, "utf8")).toBe("after\n");
  });

  test("drops (and counts) lines rather than grow without bound when writes fall behind", async () => {
    let dropped = 0;
    const writer = new AccessLogWriter(tempFile("access.log"), { flushMs: 1000, maxBufferBytes: 100, onDrop: () => dropped++ });
    let accepted = 0;
    for (let i = 0; i < 50; i++) if (writer.write("0123456789\n")) accepted++;
    expect(accepted).toBeLessThan(50);
    expect(dropped).toBe(50 - accepted);
    await writer.close();
  });

  test("a file that cannot be opened is reported once, not per flush", async () => {
    const errors: string[] = [];
    const writer = new AccessLogWriter("/nonexistent-dir/x/access.log", { flushMs: 1, onError: (m) => errors.push(m) });
    writer.write("a\n");
    await writer.flush();
    writer.write("b\n");
    await writer.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('access log "/nonexistent-dir/x/access.log"');
    await writer.close();
  });
});

describe("AccessLogs", () => {
  test("shares one writer per path and closes the paths a config dropped", async () => {
    const logs = new AccessLogs({ flushMs: 5 });
    const a = logs.writer(tempFile("a.log"));
    expect(logs.writer(a.path)).toBe(a);
    logs.retain(new Set());
    // Requests of the old config still in flight may log while it closes; their lines are kept.
    expect(a.write("x\n")).toBe(true);
    for (let i = 0; i < 200 && a.write(""); i++) await Bun.sleep(5);
    expect(a.write("y\n")).toBe(false);
    expect(readFileSync(a.path, "utf8")).toBe("x\n");
    expect(logs.writer(a.path)).not.toBe(a);
    await logs.closeAll();
  });
});
