// ProxyHeaderReader: the PROXY header that opens each connection of an accept_proxy listener on
// tenbin's own HTTP server, fed as a socket would feed it.
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { ProxyHeaderReader } from "../../src/listener/h1-server/proxy-header.ts";
import { encodeProxyHeader } from "../../src/proxy/proxy-protocol.ts";

const GET = Buffer.from("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
const source = { address: "203.0.113.9", port: 40000 };
const destination = { address: "127.0.0.1", port: 8080 };

describe("ProxyHeaderReader", () => {
  for (const version of [1, 2] as const) {
    test(`a v${version} header names the client; the request bytes after it are handed on`, () => {
      const read = new ProxyHeaderReader().read(Buffer.concat([encodeProxyHeader(version, source, destination), GET]));
      expect(read && "rest" in read ? [read.client, read.rest.toString()] : read).toEqual([source, GET.toString()]);
    });

    test(`a v${version} header split at every byte is read whole once its last byte came`, () => {
      const bytes = Buffer.concat([encodeProxyHeader(version, source, destination), GET]);
      const header = encodeProxyHeader(version, source, destination).length;
      const reader = new ProxyHeaderReader();
      let got: ReturnType<ProxyHeaderReader["read"]>;
      let at = 0;
      for (; at < bytes.length && got === undefined; at++) got = reader.read(bytes.subarray(at, at + 1));
      expect(at).toBe(header);
      expect(got && "client" in got ? got.client : got).toEqual(source);
    });
  }

  test("an IPv4-mapped source is the IPv4 client", () => {
    const read = new ProxyHeaderReader().read(Buffer.from("PROXY TCP6 ::ffff:203.0.113.9 ::1 40000 8080\r\n"));
    expect(read && "client" in read ? read.client : read).toEqual(source);
  });

  test("a LOCAL header (the upstream's own check) keeps the peer as the client", () => {
    const local = Buffer.concat([encodeProxyHeader(2, source, destination).subarray(0, 12), Buffer.from([0x20, 0x00, 0x00, 0x00])]);
    const read = new ProxyHeaderReader().read(local);
    expect(read && "client" in read ? [read.client, read.rest.length] : read).toEqual([undefined, 0]);
  });

  test("bytes that are no PROXY header, and a v1 line that never ends, are refused", () => {
    expect(new ProxyHeaderReader().read(GET)).toEqual({ refused: "no PROXY protocol header" });
    const reader = new ProxyHeaderReader();
    let got = reader.read(Buffer.from("PROXY TCP4 "));
    for (let sent = 11; got === undefined && sent < 1000; sent += 10) got = reader.read(Buffer.from("1111111111"));
    expect(got !== undefined && "refused" in got).toBe(true);
  });
});
