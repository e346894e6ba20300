import { describe, expect, test } from "bun:test";
import { encodeProxyHeader, MAX_HEADER_LENGTH, parseProxyHeader, V2_SIGNATURE } from "../../src/proxy/proxy-protocol.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("encodeProxyHeader v1", () => {
  test("IPv4 is one TCP4 line", () => {
    expect(text(encodeProxyHeader(1, { address: "192.168.0.1", port: 56324 }, { address: "192.168.0.11", port: 443 }))).toBe(
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
    );
  });

  test("IPv6 is a TCP6 line in short form", () => {
    expect(text(encodeProxyHeader(1, { address: "::1", port: 1 }, { address: "2001:db8:0:0:0:0:0:7", port: 2 }))).toBe("PROXY TCP6 ::1 2001:db8::7 1 2\r\n");
  });

  test("an IPv4-mapped client next to an IPv4 address is written as IPv4", () => {
    expect(text(encodeProxyHeader(1, { address: "::ffff:10.0.0.1", port: 5 }, { address: "10.0.0.2", port: 6 }))).toBe("PROXY TCP4 10.0.0.1 10.0.0.2 5 6\r\n");
  });

  test("mixed families become IPv6; an unknown address becomes UNKNOWN", () => {
    expect(text(encodeProxyHeader(1, { address: "10.0.0.1", port: 5 }, { address: "::1", port: 6 }))).toBe("PROXY TCP6 ::ffff:a00:1 ::1 5 6\r\n");
    expect(text(encodeProxyHeader(1, { address: "", port: 0 }, { address: "10.0.0.2", port: 6 }))).toBe("PROXY UNKNOWN\r\n");
  });
});

describe("encodeProxyHeader v2", () => {
  test("IPv4 over TCP: signature, 0x21, 0x11, length 12, addresses, ports", () => {
    const header = encodeProxyHeader(2, { address: "192.168.0.1", port: 56324 }, { address: "192.168.0.11", port: 443 });
    expect(hex(header)).toBe(`${hex(V2_SIGNATURE)}2111000c` + "c0a80001" + "c0a8000b" + "dc04" + "01bb");
  });

  test("IPv6 over TCP: family 0x21, length 36", () => {
    const header = encodeProxyHeader(2, { address: "::1", port: 1 }, { address: "2001:db8::7", port: 2 });
    expect(header.length).toBe(16 + 36);
    expect(hex(header.subarray(12, 16))).toBe("21210024");
    expect(hex(header.subarray(16, 32))).toBe("00000000000000000000000000000001");
    expect(hex(header.subarray(32, 48))).toBe("20010db8000000000000000000000007");
    expect(hex(header.subarray(48))).toBe("00010002");
  });

  test("UDP sets the DGRAM protocol; an unknown address gives a LOCAL header", () => {
    expect(encodeProxyHeader(2, { address: "10.0.0.1", port: 1 }, { address: "10.0.0.2", port: 2 }, "udp")[13]).toBe(0x12);
    expect(hex(encodeProxyHeader(2, { address: "nope", port: 1 }, { address: "10.0.0.2", port: 2 }))).toBe(`${hex(V2_SIGNATURE)}20000000`);
  });
});

describe("parseProxyHeader", () => {
  const client = { address: "203.0.113.7", port: 40000 };
  const local = { address: "198.51.100.1", port: 3306 };

  test("reads back what it wrote, v1 and v2, IPv4 and IPv6, and says where the stream goes on", () => {
    for (const version of [1, 2] as const) {
      for (const [src, dst] of [[client, local], [{ address: "2001:db8::1", port: 9 }, { address: "::1", port: 10 }]] as const) {
        const header = encodeProxyHeader(version, src, dst);
        const data = new Uint8Array([...header, ...bytes("GET / HTTP/1.1\r\n")]);
        const parsed = parseProxyHeader(data);
        expect(parsed).toEqual({ status: "ok", length: header.length, header: { version, command: "proxy", transport: "tcp", source: src, destination: dst } });
      }
    }
  });

  test("a header split anywhere is incomplete until its last byte", () => {
    for (const version of [1, 2] as const) {
      const header = encodeProxyHeader(version, client, local);
      for (let n = 1; n < header.length; n++) expect(parseProxyHeader(header.subarray(0, n)).status).toBe("incomplete");
      expect(parseProxyHeader(header).status).toBe("ok");
    }
  });

  test("UNKNOWN and LOCAL carry no addresses", () => {
    expect(parseProxyHeader(bytes("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"))).toMatchObject({ status: "ok", header: { transport: "unknown", source: undefined } });
    expect(parseProxyHeader(new Uint8Array([...V2_SIGNATURE, 0x20, 0x00, 0x00, 0x00]))).toMatchObject({ status: "ok", length: 16, header: { command: "local" } });
  });

  test("v2 skips TLVs after the addresses", () => {
    const header = encodeProxyHeader(2, client, local);
    const tlv = [0x04, 0x00, 0x03, 0x61, 0x62, 0x63]; // PP2_TYPE_NOOP with 3 bytes
    const withTlv = new Uint8Array([...header, ...tlv, 0x99]);
    withTlv[15] = 12 + tlv.length;
    expect(parseProxyHeader(withTlv)).toMatchObject({ status: "ok", length: header.length + tlv.length, header: { source: client } });
  });

  test("rejects what is not a PROXY header, with a reason", () => {
    const invalid: [string, Uint8Array][] = [
      ["plain data", bytes("GET / HTTP/1.1\r\n")],
      ["lower case", bytes("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n")],
      ["unknown family", bytes("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n")],
      ["IPv6 in TCP4", bytes("PROXY TCP4 ::1 5.6.7.8 1 2\r\n")],
      ["bad address", bytes("PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n")],
      ["port too big", bytes("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n")],
      ["port with sign", bytes("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n")],
      ["missing field", bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")],
      ["double space", bytes("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n")],
      ["no CRLF in 107 bytes", bytes(`PROXY TCP4 ${"1".repeat(120)}`)],
      ["v2 version 3", new Uint8Array([...V2_SIGNATURE, 0x31, 0x11, 0x00, 0x0c, ...new Uint8Array(12)])],
      ["v2 command 2", new Uint8Array([...V2_SIGNATURE, 0x22, 0x11, 0x00, 0x0c, ...new Uint8Array(12)])],
      ["v2 short address block", new Uint8Array([...V2_SIGNATURE, 0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4])],
      ["v2 bad signature", new Uint8Array([...V2_SIGNATURE.subarray(0, 11), 0x0b, 0x21, 0x11, 0x00, 0x00])],
    ];
    for (const [what, data] of invalid) {
      const parsed = parseProxyHeader(data);
      expect({ what, status: parsed.status }).toEqual({ what, status: "invalid" });
      if (parsed.status === "invalid") expect(parsed.reason.length).toBeGreaterThan(5);
    }
  });

  test("a v2 header announces at most 64 KB more", () => {
    expect(MAX_HEADER_LENGTH).toBe(16 + 65535);
    const big = new Uint8Array([...V2_SIGNATURE, 0x21, 0x11, 0xff, 0xff]);
    expect(parseProxyHeader(big).status).toBe("incomplete");
  });
});
