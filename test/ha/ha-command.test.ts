/** `tenbin ha keepalived|bird`: the configs they print, and their usage errors. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/cli/args.ts";
import { renderHa } from "../../src/cli/ha.ts";

const BIRD = Bun.which("bird");

describe("tenbin ha keepalived", () => {
  test("a VRRPv3 instance with sub-second adverts, the address, track_script on tenbin ready and a notify hook", () => {
    const text = renderHa("keepalived", ["--vip", "192.0.2.10/24", "--interface", "eth0", "--priority", "150", "--peer", "10.0.0.12", "--source", "10.0.0.11", "--tenbin", "/opt/tenbin", "--pools"]);
    expect(text).toContain("  vrrp_version 3\n");
    expect(text).toContain('  script "/opt/tenbin ready --admin 127.0.0.1:9090 --pools --timeout 800ms"\n');
    expect(text).toContain("  priority 150\n  version 3\n  advert_int 0.2\n");
    expect(text).toContain("  unicast_src_ip 10.0.0.11\n  unicast_peer {\n    10.0.0.12\n  }\n");
    expect(text).toContain("  virtual_ipaddress {\n    192.0.2.10/24 dev eth0\n  }\n");
    expect(text).toContain("  track_script {\n    tenbin_ready\n  }\n");
    expect(text).toContain('  notify "/usr/bin/logger -t tenbin-ha"\n');
    expect(text).toContain("Master down after 683 ms");
    expect(text).not.toContain("nopreempt");
  });

  test("--track-file adds a track_file (weight 0, starting at 1: not ready) beside the track_script", () => {
    const text = renderHa("keepalived", ["--vip", "192.0.2.10/24", "--interface", "eth0", "--track-file", "/run/tenbin-ready"]);
    expect(text).toContain('track_file tenbin_fast {\n  file "/run/tenbin-ready"\n  weight 0\n  init_file 1 overwrite\n}\n');
    expect(text).toContain("  track_script {\n    tenbin_ready\n  }\n  track_file {\n    tenbin_fast\n  }\n");
    expect(renderHa("keepalived", ["--vip", "192.0.2.10/24", "--interface", "eth0"])).not.toContain("track_file");
  });

  test("multicast without peers; advert and nopreempt as asked", () => {
    const text = renderHa("keepalived", ["--vip", "192.0.2.10/24", "--interface", "eth1", "--advert", "150ms", "--nopreempt"]);
    expect(text).not.toContain("unicast_peer");
    expect(text).toContain("advert_int 0.15\n");
    expect(text).toContain("  nopreempt\n");
  });

  test("usage mistakes name the flag", () => {
    const cases: [string[], string][] = [
      [["--interface", "eth0"], "--vip is missing"],
      [["--vip", "192.0.2.10", "--interface", "eth0"], 'bad --vip "192.0.2.10"'],
      [["--vip", "192.0.2.10/24"], "--interface is missing"],
      [["--vip", "192.0.2.10/24", "--interface", "eth0", "--priority", "255"], 'bad --priority "255"'],
      [["--vip", "192.0.2.10/24", "--interface", "eth0", "--advert", "5ms"], 'bad --advert "5ms"'],
      [["--vip", "192.0.2.10/24", "--interface", "eth0", "--peer", "host"], 'bad address "host"'],
    ];
    for (const [args, message] of cases) expect(() => renderHa("keepalived", args)).toThrow(message);
    expect(() => renderHa("carp", [])).toThrow(UsageError);
  });
});

describe("tenbin ha bird", () => {
  const args = ["--service", "192.0.2.80/32", "--router-id", "10.77.1.2", "--as", "65001", "--neighbor", "10.77.1.1", "--neighbor-as", "65000"];

  test("a static protocol holding the announcement, exported over BGP with the timers asked", () => {
    const text = renderHa("bird", [...args, "--hold", "6", "--keepalive", "2", "--bfd"]);
    expect(text).toContain("protocol static tenbin_service {\n  disabled;\n  ipv4;\n  route 192.0.2.80/32 blackhole;\n}");
    expect(text).toContain("  neighbor 10.77.1.1 as 65000;\n  hold time 6;\n  keepalive time 2;\n");
    expect(text).toContain('    export where proto = "tenbin_service";');
    expect(text).toContain("  bfd on;");
  });

  test.skipIf(!BIRD)("BIRD parses what it prints (bird -p)", async () => {
    for (const extra of [[], ["--bfd"], ["--service", "2001:db8::80/128", "--neighbor", "2001:db8::1"]]) {
      const file = join(mkdtempSync(join(tmpdir(), "tenbin-bird-")), "bird.conf");
      writeFileSync(file, renderHa("bird", [...args, ...extra]));
      const proc = Bun.spawnSync([BIRD!, "-p", "-c", file], { stderr: "pipe" });
      expect(proc.stderr.toString()).toBe("");
      expect(proc.exitCode).toBe(0);
    }
  });

  test("usage mistakes name the flag", () => {
    expect(() => renderHa("bird", args.slice(2))).toThrow("--service is missing");
    expect(() => renderHa("bird", [...args, "--keepalive", "2"])).toThrow("--keepalive 2 is more than a third of --hold 3");
    expect(() => renderHa("bird", [...args.slice(0, 8), "--neighbor-as", "x"])).toThrow('bad --neighbor-as "x"');
  });
});
