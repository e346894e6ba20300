import { describe, expect, test } from "bun:test";
import { CidrSet, ipBytes, unmapIpv4 } from "../../src/util/cidr.ts";

test("unmapIpv4 turns only IPv4-mapped IPv6 into IPv4", () => {
  expect(unmapIpv4("::ffff:192.0.2.1")).toBe("192.0.2.1");
  expect(unmapIpv4("::FFFF:10.0.0.1")).toBe("10.0.0.1");
  for (const ip of ["192.0.2.1", "::1", "::ffff:c000:201", "2001:db8::ffff:1.2.3.4", "fe80::1", ""]) expect(unmapIpv4(ip)).toBe(ip);
});

describe("ipBytes", () => {
  test("IPv4, IPv6 in every spelling, IPv4-mapped IPv6 as IPv4", () => {
    expect(ipBytes("10.1.2.3")).toEqual(new Uint8Array([10, 1, 2, 3]));
    expect(ipBytes("::1")).toEqual(new Uint8Array([...new Array(15).fill(0), 1]));
    expect(ipBytes("[::1]")).toEqual(ipBytes("0:0:0:0:0:0:0:1"));
    expect(ipBytes("2001:DB8::")).toEqual(ipBytes("2001:db8:0:0:0:0:0:0"));
    expect(ipBytes("fe80::1%eth0")).toEqual(ipBytes("fe80::1"));
    expect(ipBytes("::ffff:192.0.2.1")).toEqual(new Uint8Array([192, 0, 2, 1]));
  });

  test("malformed addresses are undefined", () => {
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.x", "01234.1.1.1", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "12345::", "::1:2:3:4:5:6:7:8"]) {
      expect(ipBytes(bad)).toBeUndefined();
    }
  });
});

describe("CidrSet", () => {
  test("prefixes on and off byte boundaries", () => {
    const set = new CidrSet(["10.0.0.0/8", "192.168.4.0/22", "203.0.113.7", "2001:db8::/33", "::1/128"]);
    expect(set.size).toBe(5);
    expect(set.has("10.255.0.1")).toBe(true);
    expect(set.has("11.0.0.1")).toBe(false);
    expect(set.has("192.168.7.255")).toBe(true);
    expect(set.has("192.168.8.0")).toBe(false);
    expect(set.has("203.0.113.7")).toBe(true);
    expect(set.has("203.0.113.8")).toBe(false);
    expect(set.has("2001:db8:7fff::1")).toBe(true);
    expect(set.has("2001:db8:8000::1")).toBe(false);
    expect(set.has("::1")).toBe(true);
    expect(set.has("::2")).toBe(false);
  });

  test("an IPv4 client seen through a dual-stack socket matches IPv4 ranges", () => {
    expect(new CidrSet(["127.0.0.1/32"]).has("::ffff:127.0.0.1")).toBe(true);
  });

  test("families never match each other; /0 matches its whole family", () => {
    const any4 = new CidrSet(["0.0.0.0/0"]);
    expect(any4.has("8.8.8.8")).toBe(true);
    expect(any4.has("2001:db8::1")).toBe(false);
    expect(new CidrSet(["::/0"]).has("8.8.8.8")).toBe(false);
  });

  test("an empty set and a malformed client address match nothing", () => {
    expect(new CidrSet([]).has("127.0.0.1")).toBe(false);
    expect(new CidrSet(["127.0.0.0/8"]).has("localhost")).toBe(false);
  });

  test("malformed entries throw with the entry quoted", () => {
    expect(() => new CidrSet(["10.0.0.0/33"])).toThrow('bad prefix length in "10.0.0.0/33"');
    expect(() => new CidrSet(["10.0.0/8"])).toThrow('bad address range "10.0.0/8"');
    expect(() => new CidrSet(["::1/129"])).toThrow('bad prefix length in "::1/129"');
    expect(() => new CidrSet(["10.0.0.0/x"])).toThrow('bad prefix length in "10.0.0.0/x"');
    expect(() => new CidrSet(["10.0.0.0/"])).toThrow('bad prefix length in "10.0.0.0/"'); // not /0
    expect(() => new CidrSet(["10.0.0.0/8/9"])).toThrow('bad prefix length in "10.0.0.0/8/9"');
    expect(() => new CidrSet(["10.0.0.0/-1"])).toThrow('bad prefix length in "10.0.0.0/-1"');
  });
});

describe("CidrSet on node:net BlockList (defect: mapped hex, leading zeros)", () => {
  test("IPv4-mapped IPv6 matches an IPv4 range in dotted and in hex notation", () => {
    const set = new CidrSet(["10.0.0.0/8", "2001:db8::/32"]);
    expect(set.has("::ffff:10.1.2.3")).toBe(true);
    expect(set.has("::ffff:a01:203")).toBe(true);
    expect(set.has("[::ffff:a01:203]")).toBe(true);
    expect(set.has("::ffff:b01:203")).toBe(false);
    expect(set.has("2001:db8::1")).toBe(true);
  });

  test("leading zeros are not an address: 010.001.002.003 is not 10.1.2.3", () => {
    expect(new CidrSet(["10.0.0.0/8"]).has("010.001.002.003")).toBe(false);
    expect(ipBytes("010.001.002.003")).toBeUndefined();
    expect(() => new CidrSet(["010.0.0.0/8"])).toThrow('bad address range "010.0.0.0/8"');
  });
});
