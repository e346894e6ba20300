import { describe, expect, test } from "bun:test";
import { clientGroupKey, parseIPv4 } from "../../../src/pool/persist/client-group.ts";
import { SourceAffinity, type SourceAffinityOptions } from "../../../src/pool/persist/source.ts";
import { FakeClock } from "../../../src/util/clock.ts";

function table(options: Partial<SourceAffinityOptions> = {}) {
  const clock = new FakeClock();
  return { clock, affinity: new SourceAffinity({ timeoutMs: 60_000, maxEntries: 100, clock, ...options }) };
}

describe("SourceAffinity", () => {
  test("remembers a client's server until the timeout after its last use", () => {
    const { clock, affinity } = table();
    affinity.set("192.0.2.1", "a");
    expect(affinity.get("192.0.2.1")).toBe("a");
    expect(affinity.get("192.0.2.2")).toBeUndefined();
    clock.advance(59_999);
    expect(affinity.get("192.0.2.1")).toBe("a");
    clock.advance(1);
    expect(affinity.get("192.0.2.1")).toBeUndefined();
    expect(affinity.size).toBe(0);
  });

  test("get does not refresh; touch does", () => {
    const { clock, affinity } = table();
    affinity.set("192.0.2.1", "a");
    clock.advance(40_000);
    affinity.get("192.0.2.1");
    clock.advance(20_000);
    expect(affinity.get("192.0.2.1")).toBeUndefined();

    affinity.set("192.0.2.1", "a");
    clock.advance(40_000);
    expect(affinity.touch("192.0.2.1")).toBe(true);
    clock.advance(40_000);
    expect(affinity.get("192.0.2.1")).toBe("a");
    expect(affinity.touch("192.0.2.9")).toBe(false);
  });

  test("set replaces, delete forgets", () => {
    const { affinity } = table();
    affinity.set("192.0.2.1", "a");
    affinity.set("192.0.2.1", "b");
    expect(affinity.get("192.0.2.1")).toBe("b");
    expect(affinity.size).toBe(1);
    expect(affinity.delete("192.0.2.1")).toBe(true);
    expect(affinity.delete("192.0.2.1")).toBe(false);
    expect(affinity.get("192.0.2.1")).toBeUndefined();
  });

  test("over max entries the least recently used goes first", () => {
    const { affinity } = table({ maxEntries: 3 });
    affinity.set("10.0.0.1", "a");
    affinity.set("10.0.0.2", "b");
    affinity.set("10.0.0.3", "c");
    affinity.touch("10.0.0.1");
    affinity.set("10.0.0.4", "d");
    expect(affinity.size).toBe(3);
    expect(affinity.get("10.0.0.2")).toBeUndefined();
    expect(affinity.get("10.0.0.1")).toBe("a");
    expect(affinity.get("10.0.0.3")).toBe("c");
    expect(affinity.get("10.0.0.4")).toBe("d");
  });

  test("sweep removes exactly the expired entries", () => {
    const { clock, affinity } = table({ timeoutMs: 1_000 });
    for (let i = 0; i < 5; i++) {
      affinity.set(`10.0.0.${i}`, "a");
      clock.advance(100);
    }
    affinity.touch("10.0.0.0"); // now the newest
    clock.advance(650); // entries 1 and 2 were set at 100 and 200, now 1050 and 950 ago
    expect(affinity.sweep()).toBe(1);
    expect(affinity.size).toBe(4);
    expect(affinity.sweep(clock.now() + 10_000)).toBe(4);
    expect(affinity.size).toBe(0);
  });

  test("a netmask groups IPv4 clients of one subnet", () => {
    const { affinity } = table({ netmask: 24 });
    affinity.set("198.51.100.7", "a");
    expect(affinity.get("198.51.100.250")).toBe("a");
    expect(affinity.get("198.51.101.7")).toBeUndefined();
  });

  test("IPv6 clients are grouped by netmask6, or by netmask when it is the only one", () => {
    const v6 = table({ netmask: 24, netmask6: 64 }).affinity;
    v6.set("2001:db8:1:2::10", "a");
    expect(v6.get("2001:db8:1:2:ffff::1")).toBe("a");
    expect(v6.get("2001:db8:1:3::10")).toBeUndefined();
    const shared = table({ netmask: 48 }).affinity;
    shared.set("2001:db8:1:2::10", "a");
    expect(shared.get("2001:db8:1:ffff::1")).toBe("a");
    expect(shared.get("10.1.2.3")).toBeUndefined();
  });

  test("an IPv4-mapped IPv6 address is the same client as the IPv4 address", () => {
    const { affinity } = table();
    affinity.set("::ffff:192.0.2.1", "a");
    expect(affinity.get("192.0.2.1")).toBe("a");
    expect(affinity.get("::FFFF:c000:201")).toBe("a");
  });
});

describe("clientGroupKey", () => {
  test("IPv4 keys: as given without a mask, network/prefix with one", () => {
    expect(clientGroupKey("10.1.2.3", 32, 128)).toBe("10.1.2.3");
    expect(clientGroupKey("10.1.2.3", 24, 128)).toBe("10.1.2.0/24");
    expect(clientGroupKey("10.1.2.3", 12, 128)).toBe("10.0.0.0/12");
    expect(clientGroupKey("10.1.2.3", 0, 128)).toBe("0.0.0.0/0");
    expect(clientGroupKey("255.255.255.255", 31, 128)).toBe("255.255.255.254/31");
  });

  test("IPv6 keys are canonical, so spellings of one address agree", () => {
    const full = clientGroupKey("2001:0db8:0000:0000:0000:0000:0000:0001", 32, 128);
    expect(full).toBe("2001:db8:0:0:0:0:0:1");
    expect(clientGroupKey("2001:db8::1", 32, 128)).toBe(full);
    expect(clientGroupKey("2001:DB8::1%eth0", 32, 128)).toBe(full);
    expect(clientGroupKey("::", 32, 128)).toBe("0:0:0:0:0:0:0:0");
    expect(clientGroupKey("2001:db8:abcd:12ff::1", 32, 52)).toBe("2001:db8:abcd:1000:0:0:0:0/52");
    expect(clientGroupKey("0:0:0:0:0:ffff:10.9.8.7", 24, 128)).toBe("10.9.8.0/24");
    expect(clientGroupKey("64:ff9b::10.9.8.7", 32, 128)).toBe("64:ff9b:0:0:0:0:a09:807");
  });

  test("anything that is not an address is its own group", () => {
    for (const text of ["", "localhost", "10.1.2", "10.1.2.3.4", "010.1.2.3", "10.1.2.256", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "1.2.3.4::", ":1"]) {
      expect(clientGroupKey(text, 24, 64)).toBe(text);
    }
  });

  test("parseIPv4 is strict", () => {
    expect(parseIPv4("0.0.0.0")).toBe(0);
    expect(parseIPv4("255.255.255.255")).toBe(4294967295);
    expect(parseIPv4(" 1.2.3.4")).toBe(-1);
    expect(parseIPv4("1.2.3.4 ")).toBe(-1);
    expect(parseIPv4("1..3.4")).toBe(-1);
  });
});
