// The request side of the codec (RequestReader: heads, bodies, chunk lines, trailers), every input
// fed whole, split once at every byte, and byte by byte; each split must read alike.
import { describe, expect, test } from "bun:test";
import { latin1, readEveryWay, readParts, TEST_MAX_HEAD } from "./request-support.ts";

const POST_CHUNKED = "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
const NEXT = "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";

describe("optional whitespace is SP and HTAB only (RFC 9110 §5.6.3), never what trim() eats", () => {
  test("SP and HTAB around Content-Length and chunked are fine", () => {
    for (const ows of [" ", "\t", " \t ", ""]) {
      const out = readEveryWay(`POST / HTTP/1.1\r\nHost: t\r\nContent-Length:${ows}5${ows}\r\n\r\nhello${NEXT}`);
      expect(out.requests.map((r) => [r.target, r.body])).toEqual([["/", "hello"], ["/next", ""]]);
      const chunked = readEveryWay(`POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:${ows}chunked${ows}\r\n\r\n5\r\nhello\r\n0\r\n\r\n${NEXT}`);
      expect(chunked.requests.map((r) => [r.target, r.body])).toEqual([["/", "hello"], ["/next", ""]]);
    }
  });

  test("\\x0b, \\x0c, \\xa0, \\x85, CR and NUL around Content-Length are a 400", () => {
    for (const ws of ["\x0b", "\x0c", "\xa0", "\x85", "\x1c", "\0"]) {
      for (const value of [`${ws}5`, `5${ws}`, ` ${ws} 5`]) {
        const out = readEveryWay(`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${value}\r\n\r\nhello`);
        expect([ws, out.error?.status]).toEqual([ws, 400]);
        expect(out.requests).toEqual([]);
      }
    }
  });

  test("\\x0b, \\x0c, \\xa0 around chunked are refused (400 for controls, 501 for an unknown coding)", () => {
    for (const ws of ["\x0b", "\x0c", "\xa0", "\x85"]) {
      for (const value of [`${ws}chunked`, `chunked${ws}`]) {
        const out = readEveryWay(`${POST_CHUNKED.replace("chunked", value)}5\r\nhello\r\n0\r\n\r\n`);
        expect([ws, out.error?.status]).toEqual([ws, ws === "\xa0" || ws === "\x85" ? 501 : 400]);
        expect(out.requests).toEqual([]);
      }
    }
  });

  test("a control other than HTAB in any field value is a 400; obs-text passes", () => {
    for (let code = 0; code < 32; code++) {
      if (code === 9 || code === 10 || code === 13) continue;
      const out = readEveryWay(`GET / HTTP/1.1\r\nHost: t\r\nX-A: a${String.fromCharCode(code)}b\r\n\r\n`);
      expect([code, out.error?.status]).toEqual([code, 400]);
    }
    expect(readEveryWay("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x7fb\r\n\r\n").error?.status).toBe(400);
    expect(readEveryWay("GET / HTTP/1.1\r\nHost: t\r\nX-A: caf\xe9\t\r\n\r\n").requests[0]?.fields).toEqual([["host", "t"], ["x-a", "caf\xe9"]]);
  });

  test("a list of transfer codings is chunked alone or refused", () => {
    for (const te of ["chunked, chunked", "gzip, chunked", "chunked, gzip", ",chunked", "chunked,", "identity"]) {
      expect([te, readEveryWay(`${POST_CHUNKED.replace("chunked", te)}0\r\n\r\n`).error?.status]).toEqual([te, 501]);
    }
    const twoLines = `POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`;
    expect(readEveryWay(twoLines).error?.status).toBe(501);
  });
});

describe("chunk lines (RFC 9112 §7.1)", () => {
  test("valid extensions are read and dropped, SP/HTAB allowed as BWS", () => {
    const lines = ["5", "5;a", "5;a=b", '5;a="b c"', '5;a="q\\"x"', "5 ;a", "5\t; a = b ;c", "5 ", "05", "000000000005", '5;a="\\\\";b=c'];
    for (const line of lines) {
      const out = readEveryWay(`${POST_CHUNKED}${line}\r\nhello\r\n0;last=1\r\n\r\n${NEXT}`);
      expect([line, out.error, out.requests.map((r) => r.body)]).toEqual([line, undefined, ["hello", ""]]);
    }
  });

  test("bad sizes and extensions are a 400, never a guess", () => {
    const bad = [
      "zz", "", " 5", "\t5", "-5", "+5", "0x5", "5\x0b", "\x0b5", "5\x0c", "\xa05", "5\xa0", "1234567890abc",
      "5;", "5;;a", "5;a=", "5;a=b c", '5;a="b', '5;a="b\nc"', "5;a\nb", "5;a\rb", "5;a=\x01", "5;a b", "5\n", "5;a=b\x7f", '5;a=\\"b"',
    ];
    for (const line of bad) {
      const out = readEveryWay(`${POST_CHUNKED}${line}\r\nhello\r\n0\r\n\r\n${NEXT}`);
      expect([line, out.error?.status]).toEqual([line, 400]);
      expect(out.requests.length).toBe(1); // the next request is never read
    }
  });

  test("a bare LF ends no chunk line: the line runs on to the CRLF and is refused", () => {
    const out = readEveryWay(`${POST_CHUNKED}5;ext\n0\r\n\r\n${NEXT}`);
    expect(out.error?.status).toBe(400);
  });
});

describe("trailers: header fields or a 400; dropped with any framing fields in them", () => {
  test("valid trailers are read and dropped; the next request follows", () => {
    for (const trailers of ["X-T: 1\r\n", "X-T: 1\r\nX-U:\r\n", "Content-Length: 10\r\nTransfer-Encoding: gzip\r\nHost: evil\r\n"]) {
      const out = readEveryWay(`${POST_CHUNKED}5\r\nhello\r\n0\r\n${trailers}\r\n${NEXT}`);
      expect([trailers, out.error, out.requests.map((r) => [r.target, r.body, r.fields.length])]).toEqual([trailers, undefined, [["/up", "hello", 2], ["/next", "", 1]]]);
    }
  });

  test("a request line smuggled into the trailer section is a 400", () => {
    const out = readEveryWay(`${POST_CHUNKED}5\r\nhello\r\n0\r\nGET /SMUGGLED HTTP/1.1\r\nHost: t\r\n\r\n${NEXT}`);
    expect(out.error?.status).toBe(400);
    expect(out.requests.map((r) => r.target)).toEqual(["/up"]);
  });

  test("bad trailer lines are a 400", () => {
    for (const line of ["no colon", " X: folded", "\tX: folded", "X : 1", ": 1", "X: a\x0bb", "X: a\0b", "X: a\nb", "X\x01: 1"]) {
      const out = readEveryWay(`${POST_CHUNKED}0\r\n${line}\r\n\r\n${NEXT}`);
      expect([line, out.error?.status]).toEqual([line, 400]);
    }
  });

  test("a trailer section over 16 KiB is a 400, however it is split", () => {
    const trailers = "X-T: 1234567890\r\n".repeat(1024);
    const out = readParts([latin1(`${POST_CHUNKED}0\r\n${trailers}\r\n`)]);
    expect(out.error?.status).toBe(400);
    expect(out.error?.message).toMatch(/trailers too long/);
    const oneLine = readParts([latin1(`${POST_CHUNKED}0\r\nX: ${"a".repeat(17 * 1024)}`)]);
    expect(oneLine.error?.message).toMatch(/trailers too long/);
  });
});

describe("heads", () => {
  test("a head over the limit is a 431 with or without its end, however it is split", () => {
    const big = `GET / HTTP/1.1\r\nHost: t\r\nX: ${"a".repeat(TEST_MAX_HEAD)}\r\n\r\n`;
    expect(readParts([latin1(big)]).error?.status).toBe(431);
    expect(readParts([latin1(big.slice(0, -4))]).error?.status).toBe(431);
    expect(readParts([...latin1(big)].map((b) => Uint8Array.of(b))).error?.status).toBe(431);
  });

  test("a head sent one byte per read is searched in O(n): each byte a bounded number of times", () => {
    // A 12 KB head, as the corpus sent it: before, every read searched the whole kept head again
    // (72 million bytes for this one); now the search resumes where it stopped.
    const head = `GET / HTTP/1.1\r\nHost: t\r\n${`X-Filler: ${"abcdefghijklmnopqrstuvwxyz0123456789".repeat(4)}\r\n`.repeat(80)}\r\n`;
    const n = head.length;
    const out = readParts([...latin1(head)].map((b) => Uint8Array.of(b)));
    expect(out.error).toBeUndefined();
    expect(out.requests.length).toBe(1);
    expect(n).toBeGreaterThan(12 * 1024);
    expect(out.scanned).toBeLessThanOrEqual(4 * n);
    // And whole: once.
    expect(readParts([latin1(head)]).scanned).toBe(n);
  });

  test("a head with bare LF line ends is a 400 at once, not a wait for the head timeout", () => {
    for (const text of ["GET / HTTP/1.1\nHost: t\n\n", "GET / HTTP/1.1\r\nHost: t\n\r\n", "GET / HTTP/1.1\r\nHost: t\r\nX: 1\n"]) {
      const out = readEveryWay(text);
      expect([text, out.error?.status, out.kept]).toEqual([text, 400, 0]);
    }
  });

  test("pipelined requests, empty lines between them, all split every way", () => {
    const out = readEveryWay(`GET /a HTTP/1.1\r\nHost: t\r\n\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc${NEXT}`);
    expect(out.requests.map((r) => [r.method, r.target, r.body])).toEqual([["GET", "/a", ""], ["POST", "/b", "abc"], ["GET", "/next", ""]]);
    expect(out.kept).toBe(0);
  });
});
