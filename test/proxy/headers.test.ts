import { describe, expect, test } from "bun:test";
import { downstreamResponseHeaders, type ForwardFacts, FORWARDING_REPLACES, forwardingBlock, rewriteRequestHeaders, stripHopByHop, upstreamRequestHeaders } from "../../src/proxy/headers.ts";
import { joinLines } from "../../src/http1/scratch.ts";

const facts = (over: Partial<ForwardFacts> = {}): ForwardFacts => ({
  clientIp: "203.0.113.7",
  proto: "http",
  trusted: false,
  requestId: "generated-id",
  hostOverride: undefined,
  ...over,
});

const spoofed = () =>
  new Headers({
    host: "shop.example.com",
    "x-forwarded-for": "1.2.3.4",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "evil.example",
    forwarded: "for=1.2.3.4;proto=https",
    "x-request-id": "client-id",
    accept: "text/html",
  });

describe("upstreamRequestHeaders from an untrusted client", () => {
  test("replaces every forwarding header and the request id", () => {
    const { headers, requestId } = upstreamRequestHeaders(spoofed(), facts());
    expect(requestId).toBe("generated-id");
    expect(headers.get("x-request-id")).toBe("generated-id");
    expect(headers.get("x-forwarded-for")).toBe("203.0.113.7");
    expect(headers.get("x-forwarded-proto")).toBe("http");
    expect(headers.get("x-forwarded-host")).toBe("shop.example.com");
    expect(headers.get("forwarded")).toBe('for=203.0.113.7;proto=http;host="shop.example.com"');
    expect(headers.get("host")).toBe("shop.example.com");
    expect(headers.get("accept")).toBe("text/html");
  });

  test("without a Host, no X-Forwarded-Host (not even the client's) and no host= element", () => {
    const incoming = spoofed();
    incoming.delete("host");
    const { headers } = upstreamRequestHeaders(incoming, facts());
    expect(headers.has("x-forwarded-host")).toBe(false);
    expect(headers.get("forwarded")).toBe("for=203.0.113.7;proto=http");
  });
});

describe("upstreamRequestHeaders from a trusted proxy", () => {
  test("appends to X-Forwarded-For and Forwarded, keeps proto, host and the request id", () => {
    const { headers, requestId } = upstreamRequestHeaders(spoofed(), facts({ trusted: true, proto: "https" }));
    expect(requestId).toBe("client-id");
    expect(headers.get("x-request-id")).toBe("client-id");
    expect(headers.get("x-forwarded-for")).toBe("1.2.3.4, 203.0.113.7");
    expect(headers.get("x-forwarded-proto")).toBe("https");
    expect(headers.get("x-forwarded-host")).toBe("evil.example");
    expect(headers.get("forwarded")).toBe('for=1.2.3.4;proto=https, for=203.0.113.7;proto=https;host="shop.example.com"');
  });

  test("fills in what the proxy did not send", () => {
    const { headers, requestId } = upstreamRequestHeaders(new Headers({ host: "a.example" }), facts({ trusted: true }));
    expect(requestId).toBe("generated-id");
    expect(headers.get("x-request-id")).toBe("generated-id");
    expect(headers.get("x-forwarded-for")).toBe("203.0.113.7");
    expect(headers.get("x-forwarded-proto")).toBe("http");
    expect(headers.get("x-forwarded-host")).toBe("a.example");
  });
});

describe("Forwarded quoting (RFC 7239)", () => {
  test("an IPv6 client is bracketed and quoted; X-Forwarded-For keeps it bare", () => {
    const { headers } = upstreamRequestHeaders(new Headers({ host: "h" }), facts({ clientIp: "2001:db8::1" }));
    expect(headers.get("forwarded")).toBe('for="[2001:db8::1]";proto=http;host="h"');
    expect(headers.get("x-forwarded-for")).toBe("2001:db8::1");
  });

  test("a host with a port is quoted, quote and backslash characters cannot break out", () => {
    const { headers } = upstreamRequestHeaders(new Headers({ host: 'h:8080"\\' }), facts());
    expect(headers.get("forwarded")).toBe('for=203.0.113.7;proto=http;host="h:8080"');
  });
});

describe("hop-by-hop headers", () => {
  test("fixed ones and those named by Connection are removed, any case and spacing", () => {
    const headers = new Headers({
      connection: "close,  X-Foo ,keep-alive",
      "x-foo": "1",
      "keep-alive": "timeout=5",
      te: "trailers",
      trailer: "x-checksum",
      upgrade: "h2c",
      "proxy-connection": "keep-alive",
      "transfer-encoding": "chunked",
      "x-bar": "stays",
    });
    stripHopByHop(headers);
    expect([...headers.keys()]).toEqual(["x-bar"]);
  });

  test("Connection cannot strip the Host header", () => {
    const { headers } = upstreamRequestHeaders(new Headers({ host: "a.example", connection: "host, x-foo", "x-foo": "1" }), facts());
    expect(headers.get("host")).toBe("a.example");
    expect(headers.has("x-foo")).toBe(false);
    expect(headers.has("connection")).toBe(false);
  });

  test("a Connection token naming a forwarding header cannot suppress tenbin's own", () => {
    const { headers } = upstreamRequestHeaders(new Headers({ host: "a", connection: "x-forwarded-for, x-request-id, forwarded" }), facts());
    expect(headers.get("x-forwarded-for")).toBe("203.0.113.7");
    expect(headers.get("x-request-id")).toBe("generated-id");
    expect(headers.get("forwarded")).toStartWith("for=203.0.113.7");
  });

  test("response headers lose hop-by-hop ones and keep every Set-Cookie", () => {
    const upstream = new Headers({ connection: "x-internal", "x-internal": "1", "keep-alive": "timeout=5", "content-type": "text/plain" });
    upstream.append("set-cookie", "a=1");
    upstream.append("set-cookie", "b=2");
    const headers = downstreamResponseHeaders(upstream);
    expect(headers.has("x-internal")).toBe(false);
    expect(headers.has("keep-alive")).toBe(false);
    expect(headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(headers.get("content-type")).toBe("text/plain");
  });
});

test("hostOverride replaces Host but X-Forwarded-Host and Forwarded keep the client's", () => {
  const { headers } = upstreamRequestHeaders(new Headers({ host: "public.example" }), facts({ hostOverride: "10.0.0.5:8080" }));
  expect(headers.get("host")).toBe("10.0.0.5:8080");
  expect(headers.get("x-forwarded-host")).toBe("public.example");
  expect(headers.get("forwarded")).toContain('host="public.example"');
});

describe("forwardingBlock", () => {
  // What a client writing the block sends must equal the header set rewritten in place.
  const cases: [string, Record<string, string>, string, "http" | "https"][] = [
    ["plain", { host: "example.test", accept: "*/*" }, "192.0.2.7", "http"],
    ["spoofed forwarding headers", { host: "a.test:8080", "x-forwarded-for": "1.2.3.4", "x-request-id": "evil", forwarded: "for=1.2.3.4", "x-forwarded-host": "x" }, "192.0.2.8", "https"],
    ["no host, IPv6 client", { accept: "text/html" }, "2001:db8::1", "http"],
    ["quotes in host, hop-by-hop headers", { host: 'we"ird\\.test', te: "trailers", "keep-alive": "timeout=5", "proxy-connection": "x" }, "198.51.100.1", "http"],
  ];
  for (const [name, init, clientIp, proto] of cases) {
    test(name, () => {
      const facts: ForwardFacts = { clientIp, proto, trusted: false, requestId: "rid-1", hostOverride: undefined };
      const inPlace = new Headers(init);
      rewriteRequestHeaders(inPlace, facts);
      const original = new Headers(init);
      const written = new Map<string, string>();
      original.forEach((value, key) => {
        if (!FORWARDING_REPLACES.has(key)) written.set(key, value);
      });
      for (const line of joinLines(forwardingBlock(original, facts)).split("\r\n").filter(Boolean)) {
        const colon = line.indexOf(": ");
        written.set(line.slice(0, colon), line.slice(colon + 2));
      }
      expect(Object.fromEntries([...written].sort())).toEqual(Object.fromEntries([...inPlace].sort()));
    });
  }

  test("requests of different clients, schemes and sites in turn each get their own lines (the last lines made are reused)", () => {
    const turns: [string, "http" | "https", string | undefined, string][] = [
      ["192.0.2.1", "http", "a.test", "r1"], ["192.0.2.1", "http", "a.test", "r2"], ["192.0.2.2", "http", "a.test", "r3"],
      ["192.0.2.2", "https", "a.test", "r4"], ["192.0.2.2", "https", "b.test", "r5"], ["192.0.2.2", "https", undefined, "r6"], ["192.0.2.1", "http", "a.test", "r7"],
    ];
    for (const [clientIp, proto, host, requestId] of turns) {
      const headers = new Headers(host === undefined ? {} : { host });
      const block = joinLines(forwardingBlock(headers, { clientIp, proto, trusted: false, requestId, hostOverride: undefined }));
      const hostLines = host === undefined ? "" : `x-forwarded-host: ${host}\r\n`;
      const element = `for=${clientIp};proto=${proto}${host === undefined ? "" : `;host="${host}"`}`;
      expect(block).toBe(`x-forwarded-for: ${clientIp}\r\nx-forwarded-proto: ${proto}\r\n${hostLines}x-request-id: ${requestId}\r\nforwarded: ${element}\r\n`);
    }
  });
});
