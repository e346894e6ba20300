// HeaderList.writeLines copies a received header block from the bytes it was read from instead of
// making strings: what it writes must be byte for byte what `lines()` returns, for heads fed to the
// codec split at every byte (the block then lies in a joined buffer), after the edits the proxy
// makes, and it must refuse (-1) rather than write past the end it is given.
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { fieldBlock, HeaderList, writeHeaderLines } from "../../src/http1/header-list.ts";
import type { RequestHead } from "../../src/http1/request-head.ts";
import { RequestReader } from "../../src/http1/request-reader.ts";
import { type ResponseHead, ResponseParser } from "../../src/http1/response-parser.ts";
import { composeHead, composeRequestHead, headText, joinLines, SCRATCH } from "../../src/http1/scratch.ts";
import { requestStart } from "../../src/http1/request-lines.ts";

const REQUEST = "GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/8\r\nX-Forwarded-For: 10.0.0.9\r\nConnection: keep-alive\r\n" +
  "Accept: */*\r\nX-Request-Id: abc\r\nCookie: a=1\r\n\r\n";
const RESPONSE = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 26 Nov 2026 08:20:47 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n" +
  "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nETag: \"x\"\r\nSet-Cookie: s=1\r\n\r\nok";

/** Skip sets as the writers pass them: framing and forwarding names (all indexed), and one with a name that is not. */
const SKIPS: ReadonlySet<string>[] = [
  new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "host"]),
  new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id", "forwarded", "te", "trailer", "upgrade", "proxy-connection"]),
  new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]),
  new Set(["user-agent", "server"]),
  new Set(),
];

/** Every way of feeding `msg` in two parts, and whole. */
function splits(msg: string): Buffer[][] {
  const b = Buffer.from(msg, "latin1");
  const all: Buffer[][] = [[b]];
  for (let i = 1; i < b.length; i++) all.push([b.subarray(0, i), b.subarray(i)]);
  return all;
}

function requestFields(parts: Buffer[]): HeaderList {
  let head: RequestHead | undefined;
  const reader = new RequestReader({ requestHead: (h) => (head = h), requestBody: () => {}, requestEnd: () => {} }, 16 * 1024);
  for (const part of parts) reader.push(part);
  return head!.fields;
}

function responseHeaders(parts: Buffer[]): HeaderList {
  let head: ResponseHead | undefined;
  const parser = new ResponseParser({ head: (h) => (head = h), body: () => {}, end: () => {} });
  parser.reset(false);
  for (const part of parts) parser.push(part);
  return head!.headers;
}

/** The edits a proxied message may see before it is written. */
const EDITS: [string, (list: HeaderList) => void][] = [
  ["none", () => {}],
  ["an indexed name deleted", (list) => list.delete("cookie")],
  ["a name that is not indexed deleted", (list) => list.delete("accept")],
  ["fields appended", (list) => (list.append("X-Added", "1"), list.append("set-cookie", "t=2"))],
  ["a block appended", (list) => list.appendBlock(fieldBlock([["X-Frame-Options", "DENY"], ["Referrer-Policy", "no-referrer"]]))],
  ["set over a received name", (list) => list.set("etag", "\"y\"")],
  ["split into pairs", (list) => void list.pairs()],
];

function expectSameBytes(list: HeaderList): void {
  for (const skip of SKIPS) {
    const want = Buffer.from(list.lines(skip), "latin1");
    const dst = Buffer.alloc(4096, 0xee);
    const end = list.writeLines(dst, 3, skip, dst.length);
    expect(end).toBe(3 + want.length);
    expect(dst.subarray(3, end).toString("latin1")).toBe(want.toString("latin1"));
    // Nothing written before or after.
    expect(dst[2]).toBe(0xee);
    expect(dst[end]).toBe(0xee);
  }
}

describe("HeaderList.writeLines", () => {
  for (const [what, edit] of EDITS) {
    test(`a request head fed split at every byte, edit: ${what}`, () => {
      for (const parts of splits(REQUEST)) {
        const list = requestFields(parts);
        edit(list);
        expectSameBytes(list);
      }
    });

    test(`an answer's head fed split at every byte, edit: ${what}`, () => {
      for (const parts of splits(RESPONSE)) {
        const list = responseHeaders(parts);
        edit(list);
        expectSameBytes(list);
      }
    });
  }

  test("refuses (-1) an end it might pass, with and without received bytes to copy", () => {
    for (const list of [requestFields([Buffer.from(REQUEST, "latin1")]), new HeaderList([["a", "1"], ["b", "2"]])]) {
      const skip = SKIPS[0]!;
      const length = list.lines(skip).length;
      const dst = Buffer.alloc(64 * 1024, 0xee);
      // A received block is checked whole (its skipped lines included): room for all of it writes.
      expect(list.writeLines(dst, 10, skip, 10 + REQUEST.length)).toBe(10 + length);
      expect(list.writeLines(dst, 10, skip, 10 + length - 1)).toBe(-1);
    }
  });

  test("a list that was not read from bytes writes its text", () => {
    const list = new HeaderList([["x-one", "1"], ["x-two", "2"]]);
    const dst = Buffer.alloc(100);
    const end = writeHeaderLines(dst, 0, list, new Set(["x-two"]), dst.length);
    expect(dst.subarray(0, end).toString("latin1")).toBe("x-one: 1\r\n");
    const web = new Headers({ "x-web": "w" });
    const webEnd = writeHeaderLines(dst, 0, web, new Set(), dst.length);
    expect(dst.subarray(0, webEnd).toString("latin1")).toBe("x-web: w\r\n");
  });
});

describe("composeHead", () => {
  test("writes what headText makes; -1 when it does not fit the scratch with the room reserved after it", () => {
    const list = responseHeaders([Buffer.from(RESPONSE, "latin1")]);
    const skip = SKIPS[2]!;
    const n = composeHead("HTTP/1.1 200 OK\r\n", list, skip, "date: x\r\n", 5, "\r\n", 5);
    expect(SCRATCH.subarray(0, n).toString("latin1")).toBe(headText("HTTP/1.1 200 OK\r\n", list, skip, "date: x\r\n", 5, "\r\n"));
    expect(composeHead("HTTP/1.1 200 OK\r\n", list, skip, "", -1, "\r\n", SCRATCH.length)).toBe(-1);
    expect(composeHead("x".repeat(SCRATCH.length - 10), list, skip, "", -1, "\r\n")).toBe(-1);
  });

  test("writes the content-length line's digits as String() does, for every number of digits", () => {
    const list = new HeaderList([["x-one", "1"]]);
    const lengths = [0, 7, 9, 10, 99, 100, 1024, 65_535, 1_000_000, 2 ** 31, 2 ** 32 + 5, 999_999_999_999_999, Number.MAX_SAFE_INTEGER];
    for (let digits = 1; digits <= 16; digits++) lengths.push(10 ** (digits - 1), 10 ** digits - 1);
    for (const length of lengths) {
      const n = composeHead("GET / HTTP/1.1\r\n", list, new Set(), "", length, "\r\n");
      expect(SCRATCH.subarray(0, n).toString("latin1")).toBe(`GET / HTTP/1.1\r\nx-one: 1\r\ncontent-length: ${length}\r\n\r\n`);
      expect(headText("GET / HTTP/1.1\r\n", list, new Set(), "", length, "\r\n")).toBe(`GET / HTTP/1.1\r\nx-one: 1\r\ncontent-length: ${length}\r\n\r\n`);
    }
    const n = composeHead("GET / HTTP/1.1\r\n", list, new Set(), "", -1, "\r\n");
    expect(SCRATCH.subarray(0, n).toString("latin1")).toBe("GET / HTTP/1.1\r\nx-one: 1\r\n\r\n");
  });

  test("composeRequestHead writes what requestStart and headText make, with and without split lines; -1 when it does not fit", () => {
    const list = new HeaderList([["host", "site.test"], ["accept", "*/*"], ["x-forwarded-for", "6.6.6.6"]]);
    const skip = new Set(["host", "x-forwarded-for"]);
    const lines = { before: "x-forwarded-for: 192.0.2.1\r\nx-request-id: ", id: "0b6c9a1e-3d52-4c6e-9a55-0d4c2a7a4f11", after: "\r\nforwarded: for=192.0.2.1\r\n" };
    for (const [method, path] of [["GET", "/"], ["POST", "/a/b?c=d"], ["OPTIONS", "*"]] as const) {
      for (const split of [undefined, lines]) {
        for (const length of [-1, 0, 5, 1_048_576]) {
          const n = composeRequestHead(method, path, list.get("host")!, list, skip, split, length, 5);
          const text = headText(requestStart(method, path, list, "fallback.test"), list, skip, split === undefined ? "" : joinLines(split), length, "\r\n");
          expect(SCRATCH.subarray(0, n).toString("latin1")).toBe(text);
        }
      }
    }
    expect(composeRequestHead("GET", "/", "site.test", list, skip, lines, -1, SCRATCH.length)).toBe(-1);
    expect(composeRequestHead("GET", "/" + "x".repeat(SCRATCH.length), "site.test", list, skip, undefined, -1)).toBe(-1);
  });
});
