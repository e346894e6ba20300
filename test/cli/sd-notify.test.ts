/**
 * systemd readiness (Type=notify): tenbin sends READY=1 once its listeners are bound and STOPPING=1
 * when it stops, as datagrams to the unix socket NOTIFY_SOCKET names. The receiver here is a fake
 * systemd in python3 (neither runtime can bind a unix datagram socket). Bun and Deno (FFI) both.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unixAddress } from "../../src/runtime/sd-notify.ts";
import { BUN, DENO, ROOT, writeConfig } from "../helpers/tenbin.ts";

const PYTHON = Bun.which("python3");
const dir = mkdtempSync(join(tmpdir(), "tenbin-notify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Prints each datagram received as one JSON string per line; exits after 20 s at most.
const RECEIVER = `
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
print("bound", flush=True)
while True:
    try: print(json.dumps(s.recv(4096).decode()), flush=True)
    except socket.timeout: break
`;

async function fakeSystemd(path: string) {
  const proc = Bun.spawn([PYTHON!, "-c", RECEIVER, path], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  const messages: string[] = [];
  const next = async (deadline: number): Promise<string | undefined> => {
    while (Date.now() < deadline) {
      const newline = text.indexOf("\n");
      if (newline >= 0) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        return line;
      }
      const { done, value } = await reader.read();
      if (done) return undefined;
      text += new TextDecoder().decode(value);
    }
    return undefined;
  };
  expect(await next(Date.now() + 5000)).toBe("bound");
  return {
    async message(timeoutMs = 15_000): Promise<string | undefined> {
      const line = await next(Date.now() + timeoutMs);
      if (line !== undefined) messages.push(JSON.parse(line));
      return line === undefined ? undefined : JSON.parse(line);
    },
    stop: () => proc.kill(),
  };
}

const CONFIG = `admin: { enabled: false }
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }]
pools: { app: { servers: [{ url: "http://127.0.0.1:9" }] } }
`;

test("sockaddr_un: a path ends in NUL, an abstract name starts with one", () => {
  expect(unixAddress("/run/x")).toMatchObject({ length: 2 + 6 + 1 });
  const abstract = unixAddress("@name")!;
  expect(abstract.length).toBe(3 + 4);
  expect([...abstract.bytes.subarray(0, 7)]).toEqual([1, 0, 0, 110, 97, 109, 101]);
  expect(unixAddress(`/${"x".repeat(200)}`)).toBeUndefined();
});

for (const how of ["bun", "deno"] as const) {
  test.skipIf(PYTHON === null)(`${how}: READY=1 once bound, STOPPING=1 on SIGTERM`, async () => {
    const socket = join(dir, `${how}.sock`);
    const systemd = await fakeSystemd(socket);
    const file = writeConfig(CONFIG);
    const cmd = how === "bun"
      ? [BUN, join(ROOT, "src/main.ts"), "run", "-c", file]
      : [DENO, "run", "--allow-all", join(ROOT, "src/main.ts"), "run", "-c", file];
    const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, NOTIFY_SOCKET: socket } });
    try {
      expect(await systemd.message()).toBe("READY=1\nSTATUS=serving");
      proc.kill("SIGTERM");
      expect(await systemd.message()).toBe("STOPPING=1");
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toMatch(/ready systemd=notified/);
    } finally {
      proc.kill("SIGKILL");
      systemd.stop();
    }
  }, 40_000);
}
