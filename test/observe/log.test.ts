/** The logger writes one line per record in both formats, and honours its level. */
import { expect, test } from "bun:test";
import { createLogger, isLogLevel } from "../../src/observe/log.ts";

const capture = (options: { json?: boolean; level?: "debug" | "info" | "warn" | "error" }) => {
  const lines: string[] = [];
  return { lines, logger: createLogger({ ...options, write: (l) => void lines.push(l) }) };
};

test("a message with line breaks is still one line, in text and in JSON", () => {
  for (const json of [false, true]) {
    const { lines, logger } = capture({ json });
    logger.error("reload failed\nt.yaml:1:1 bad\nt.yaml:2:1 worse", { trigger: "SIGHUP" });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith("\n")).toBe(true);
    expect(lines[0]!.slice(0, -1)).not.toContain("\n");
  }
});

test("text lines do not repeat a field the message states; JSON keeps every field", () => {
  const text = capture({});
  text.logger.info("listener web listening on http://127.0.0.1:8080", { listener: "web", url: "http://127.0.0.1:8080", extra: "x y" });
  expect(text.lines[0]).toMatch(/ info  listener web listening on http:\/\/127\.0\.0\.1:8080 extra="x y"\n$/);
  const json = capture({ json: true });
  json.logger.info("listener web listening on http://127.0.0.1:8080", { listener: "web", url: "http://127.0.0.1:8080" });
  expect(JSON.parse(json.lines[0]!)).toMatchObject({ level: "info", listener: "web", url: "http://127.0.0.1:8080" });
});

test("records below the level are dropped; level names are checked", () => {
  const { lines, logger } = capture({ level: "warn" });
  logger.info("no");
  logger.warn("yes");
  expect(lines.map((l) => l.includes("yes"))).toEqual([true]);
  expect(["debug", "info", "warn", "error"].every(isLogLevel)).toBe(true);
  expect(isLogLevel("loud")).toBe(false);
  expect(isLogLevel("toString")).toBe(false);
});
