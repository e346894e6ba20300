/**
 * `tenbin check` warns about a listener on an address this host does not have without nonlocal
 * bind (what stops tenbin on a keepalived standby): the rule with given facts, and the real command
 * inside a namespace where the address is absent, then allowed by the sysctl, then present.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bindWarnings } from "../../src/cli/check-bind.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { BUN, ROOT } from "../helpers/tenbin.ts";
import { announceSkip, Lab, namespaceBlocker, tool } from "./netns.ts";

const yaml = (listen: string) => `
listeners: [{ name: web, listen: "${listen}", routes: [{ pool: web }] }]
pools: { web: { servers: [{ url: "http://127.0.0.1:8080" }] } }
`;
const facts = { local: new Set(["127.0.0.1", "::1", "10.0.0.11"]), nonlocalBind4: false, nonlocalBind6: false };

describe("bindWarnings", () => {
  test("a specific address the host lacks, without nonlocal bind, is a warning that names the fix", () => {
    const [warning, ...rest] = bindWarnings(loadConfigText(yaml("192.0.2.10:80"), "t.yaml", {}), facts);
    expect(rest).toEqual([]);
    expect(warning).toBe('listener "web" listens on 192.0.2.10:80, an address this host does not have, so it cannot bind until the address arrives (on a keepalived standby: never); set net.ipv4.ip_nonlocal_bind=1 (sysctl -w net.ipv4.ip_nonlocal_bind=1, and a file in /etc/sysctl.d/ to keep it) or listen on 0.0.0.0:80');
    expect(bindWarnings(loadConfigText(yaml("[2001:db8::10]:443"), "t.yaml", {}), facts)[0]).toContain("net.ipv6.ip_nonlocal_bind=1");
  });

  test("no warning for local, wildcard or allowed addresses", () => {
    for (const listen of ["10.0.0.11:80", "0.0.0.0:80", ":80", "[::]:80", "127.0.0.1:0"]) expect(bindWarnings(loadConfigText(yaml(listen), "t.yaml", {}), facts)).toEqual([]);
    expect(bindWarnings(loadConfigText(yaml("192.0.2.10:80"), "t.yaml", {}), { ...facts, nonlocalBind4: true })).toEqual([]);
  });
});

const blocker = namespaceBlocker([]);
announceSkip("tenbin check in a namespace", blocker);

describe.skipIf(blocker !== undefined)("tenbin check in a namespace", () => {
  const lab = new Lab("chk");
  afterAll(() => lab.cleanup());

  test("warns while the address is absent and nonlocal bind is off; not once either changes", () => {
    lab.addNamespace("n");
    lab.link("n", "eth0", "n", "peer0");
    const file = join(lab.dir, "tenbin.yaml");
    writeFileSync(file, yaml("10.77.0.10:80"));
    const check = () => {
      const r = Bun.spawnSync([tool("ip"), "netns", "exec", lab.ns("n"), BUN, join(ROOT, "src/main.ts"), "check", file], { stdout: "pipe", stderr: "pipe" });
      return { code: r.exitCode, err: r.stderr.toString() };
    };
    lab.sysctl("n", "net.ipv4.ip_nonlocal_bind", "0");
    const absent = check();
    expect(absent.code).toBe(0);
    expect(absent.err).toContain(`${file}: warning: listener "web" listens on 10.77.0.10:80, an address this host does not have`);
    lab.sysctl("n", "net.ipv4.ip_nonlocal_bind", "1");
    expect(check()).toEqual({ code: 0, err: "" });
    lab.sysctl("n", "net.ipv4.ip_nonlocal_bind", "0");
    lab.ip("n", "addr", "add", "10.77.0.10/24", "dev", "eth0");
    expect(check()).toEqual({ code: 0, err: "" });
  }, 20_000);
});
