/**
 * `npm run release` as a user gets it: the linux-x64 build runs natively, the linux-arm64 one under
 * qemu-user (`qemu-aarch64 -L /usr/aarch64-linux-gnu`; Debian's qemu-user, libc6-arm64-cross and
 * libstdc++6-arm64-cross). Each runs `version`, `check` and proxies a request; SHA256SUMS checks out;
 * the x64 one runs `tenbin demo` in an empty directory and tells a fake systemd it is ready (libc
 * through FFI from the compiled binary). Only these two targets are built here (about
 * 110 MB and a few seconds each); the others are built by `npm run release`, not tested.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildRelease, releaseFileName, RELEASE_TARGETS, type ReleaseFile } from "../../build.ts";
import { packageVersion } from "../../build.ts";
import { startTenbin, writeConfig } from "../helpers/tenbin.ts";

const QEMU = Bun.which("qemu-aarch64");
const ARM_SYSROOT = "/usr/aarch64-linux-gnu";
const canRunArm = QEMU !== null && existsSync(join(ARM_SYSROOT, "lib/ld-linux-aarch64.so.1"));
const isLinuxX64 = process.platform === "linux" && process.arch === "x64";

const outdir = mkdtempSync(join(tmpdir(), "tenbin-release-"));
let files: ReleaseFile[] = [];

beforeAll(async () => {
  if (!isLinuxX64) return;
  files = await buildRelease({ only: ["linux-x64", ...(canRunArm ? ["linux-arm64"] : [])], outdir });
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The command that runs a target's binary here. */
function commandFor(name: string): string[] {
  const file = files.find((f) => f.target.name === name);
  if (!file) throw new Error(`"${name}" was not built`);
  return name === "linux-arm64" ? [QEMU!, "-L", ARM_SYSROOT, file.path] : [file.path];
}

async function runBinary(command: string[], args: string[], cwd = outdir) {
  const proc = Bun.spawn([...command, ...args], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

test("release file names and targets", () => {
  const v = packageVersion();
  const names = RELEASE_TARGETS.map((t) => releaseFileName(v, t));
  expect(names).toEqual([
    `tenbin-${v}-linux-x64`,
    `tenbin-${v}-linux-x64-musl`,
    `tenbin-${v}-linux-arm64`,
    `tenbin-${v}-darwin-arm64`,
    `tenbin-${v}-darwin-x64`,
    `tenbin-${v}-windows-x64.exe`,
  ]);
});

test.skipIf(!isLinuxX64)("SHA256SUMS lists each built file with its hash, as sha256sum -c reads it", async () => {
  const sums = readFileSync(join(outdir, "SHA256SUMS"), "utf8");
  expect(sums.trim().split("\n")).toHaveLength(files.length);
  const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: outdir });
  expect(check.stdout.toString()).toContain(`${releaseFileName(packageVersion(), RELEASE_TARGETS[0]!)}: OK`);
  expect(check.exitCode).toBe(0);
});

const CONFIG = (backendPort: number) => `listeners:
  - name: web
    listen: 127.0.0.1:0
    routes: [{ pool: app }]
admin: { enabled: false }
pools:
  app: { servers: [{ url: "http://127.0.0.1:${backendPort}" }] }
`;

for (const name of ["linux-x64", "linux-arm64"] as const) {
  const runnable = isLinuxX64 && (name === "linux-x64" || canRunArm);
  describe.skipIf(!runnable)(`${name} binary${name === "linux-arm64" ? " (under qemu-aarch64)" : ""}`, () => {
    test("version", async () => {
      const { code, stdout } = await runBinary(commandFor(name), ["version"]);
      expect(code).toBe(0);
      expect(stdout).toBe(`tenbin ${packageVersion()} (bun ${Bun.version})\n`);
    }, 30_000);

    test("check: ok and an error with line:column", async () => {
      const good = writeConfig(CONFIG(9));
      expect((await runBinary(commandFor(name), ["check", good])).code).toBe(0);
      const bad = writeConfig(CONFIG(9).replace("routes: [{ pool: app }]", "routes: [{ pool: nope }]"));
      const { code, stderr } = await runBinary(commandFor(name), ["check", bad]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/tenbin\.yaml:4:\d+ .*nope/);
    }, 30_000);

    test("proxies a request to a backend", async () => {
      using backend = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(`hello from ${name}`) });
      const tenbin = await startTenbin(CONFIG(backend.port!), { how: "binary", binary: commandFor(name), timeoutMs: 30_000 });
      try {
        const res = await fetch(tenbin.url("/"));
        expect(await res.text()).toBe(`hello from ${name}`);
      } finally {
        expect(await tenbin.stop()).toBe(0);
      }
    }, 40_000);
  });
}

/** A port free at the moment (the demo's backends need fixed ports, they cannot take port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test.skipIf(!isLinuxX64)("tenbin demo runs from the binary alone, in an empty directory", async () => {
  const empty = mkdtempSync(join(tmpdir(), "tenbin-empty-"));
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  const proc = Bun.spawn([...commandFor("linux-x64"), "demo"], {
    cwd: empty,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, TENBIN_PORT: "0", TENBIN_ADMIN_PORT: "0", TENBIN_DEMO_PORT_1: String(p1), TENBIN_DEMO_PORT_2: String(p2), TENBIN_DEMO_PORT_3: String(p3) },
  });
  try {
    const reader = proc.stdout.getReader();
    let out = "";
    const deadline = Date.now() + 20_000;
    while (!/behind http:\/\/127\.0\.0\.1:(\d+)\//.test(out) && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const port = out.match(/behind http:\/\/127\.0\.0\.1:(\d+)\//)?.[1];
    expect(port).toBeDefined();
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { backend: string }).backend);
    expect([...seen].sort()).toEqual(["web-1", "web-2", "web-3"]);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(empty, { recursive: true, force: true });
  }
}, 40_000);

const PYTHON = Bun.which("python3");

test.skipIf(!isLinuxX64 || PYTHON === null)("the binary sends READY=1 to NOTIFY_SOCKET (sd_notify through FFI)", async () => {
  const socket = join(outdir, "notify.sock");
  // A fake systemd: prints the first datagram and exits (bounded: 20 s).
  const receiver = Bun.spawn([PYTHON!, "-c", [
    "import socket, sys",
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(20)",
    "print('bound', flush=True); print(repr(s.recv(4096).decode()), flush=True)",
  ].join("\n"), socket], { stdout: "pipe" });
  const reader = receiver.stdout.getReader();
  let out = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = out.includes("bound\n") ? { done: true, value: undefined } : await reader.read()) {
    out += new TextDecoder().decode(chunk.value);
  }
  expect(out).toContain("bound\n");
  const file = writeConfig(CONFIG(9));
  const proc = Bun.spawn([...commandFor("linux-x64"), "run", "-c", file], { stdin: "ignore", stdout: "ignore", stderr: "ignore", env: { ...process.env, NOTIFY_SOCKET: socket } });
  try {
    while (!out.includes("READY")) {
      const { done, value } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("'READY=1\\nSTATUS=serving'");
  } finally {
    proc.kill("SIGTERM");
    receiver.kill();
    await proc.exited;
  }
}, 30_000);
