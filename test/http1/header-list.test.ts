// HeaderList over a received header block (`HeaderList.scanned`) and the scanner behind it
// (`scanFields`): the text is passed on as it came, minus dropped lines, and every reading gives
// what splitting the block line by line gives.
import { describe, expect, test } from "bun:test";
import { type FieldError, INDEXED_FIELDS, scanFields, shapeBit, splitField } from "../../src/http1/fields.ts";
import { fieldBlock, HeaderList } from "../../src/http1/header-list.ts";
import { LightResponse } from "../../src/http/message.ts";
import { writeResponse } from "../../src/http1/response-writer.ts";
import { stripHopByHop } from "../../src/proxy/headers.ts";

const fail: FieldError = (message, quoted) => new Error(quoted === undefined ? message : `${message} "${quoted}"`);
const STATUS = "HTTP/1.1 200 OK\r\n";

/** A scanned list of `block` (header lines each ended by CRLF) after a status line. */
function scanned(block: string): HeaderList {
  const text = STATUS + block;
  return HeaderList.scanned(text, STATUS.length, scanFields(text, STATUS.length, fail));
}

/** What splitting `block` line by line gives. */
function split(block: string): [string, string][] {
  return block.split("\r\n").slice(0, -1).map((line) => splitField(line, fail));
}

const NGINX = "Server: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 08:20:47 GMT\r\nContent-Type: text/html\r\nContent-Length: 1024\r\n" +
  "Connection: keep-alive\r\nETag: \"6565-400\"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Pad:  spaced\t\r\n";

describe("a scanned header block", () => {
  test("reads indexed names without splitting, others by splitting, both as a line-by-line split does", () => {
    const list = scanned(NGINX);
    expect(list.get("Content-Length")).toBe("1024");
    expect(list.get("connection")).toBe("keep-alive");
    expect(list.has("date")).toBe(true);
    expect(list.get("host")).toBeNull();
    // Still text: the block goes out unchanged.
    expect(list.lines(new Set())).toBe(NGINX);
    expect(list.get("set-cookie")).toBe("a=1, b=2");
    expect(list.get("x-pad")).toBe("spaced");
    expect(list.pairs()).toEqual(split(NGINX));
  });

  test("lines() cuts skipped and dropped lines, keeps the rest in their own case, and adds appended fields", () => {
    const list = scanned(NGINX);
    stripHopByHop(list);
    list.append("Set-Cookie", "lb=x");
    expect(list.get("connection")).toBeNull();
    const out = list.lines(new Set(["content-length", "date"]));
    expect(out).toBe("Server: nginx/1.22.1\r\nContent-Type: text/html\r\nETag: \"6565-400\"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Pad:  spaced\t\r\nset-cookie: lb=x\r\n");
    expect(list.get("set-cookie")).toBe("a=1, b=2, lb=x");
    expect(list.pairs()).toEqual([...split(NGINX).filter(([name]) => name !== "connection"), ["set-cookie", "lb=x"]]);
  });

  test("edits of names that are not indexed split the block first; later lines come from the pairs", () => {
    const list = scanned("A: 1\r\nHost: h\r\nB: 2\r\n");
    list.set("a", "3");
    expect(list.pairs()).toEqual([["host", "h"], ["b", "2"], ["a", "3"]]);
    expect(list.lines(new Set(["host"]))).toBe("b: 2\r\na: 3\r\n");
    const other = scanned("A: 1\r\nB: 2\r\n");
    expect(other.lines(new Set(["a"]))).toBe("b: 2\r\n");
  });

  test("an empty block and a block of indexed lines only", () => {
    expect(scanned("").pairs()).toEqual([]);
    expect(scanned("").lines(new Set(["host"]))).toBe("");
    const list = scanned("Host: a\r\nContent-Length: 0\r\n");
    expect(list.lines(new Set(["host", "content-length"]))).toBe("");
    expect(list.lines(new Set(["host"]))).toBe("Content-Length: 0\r\n");
  });

  test("every indexed name is found whatever its case, repeated lines joined", () => {
    for (const name of INDEXED_FIELDS) {
      const upper = name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
      const list = scanned(`${upper}: one\r\nX: y\r\n${name.toUpperCase()}:two \r\n`);
      expect(list.get(name)).toBe("one, two");
      list.deleteAll(new Set([name]));
      expect(list.lines(new Set())).toBe("X: y\r\n");
    }
  });
  test("deleting a name that is not indexed drops its lines and keeps the text (a policy's remove and set)", () => {
    const block = "Server: nginx\r\nDate: today\r\nX-Pad: 1\r\nserver: again\r\nSERVERX: kept\r\nContent-Length: 5\r\nX-Server: kept\r\n";
    const list = scanned(block);
    list.delete("Server");
    list.delete("server"); // twice: the lines are dropped once
    list.set("X-Frame-Options", "DENY");
    list.set("x-pad", "2");
    expect(list.get("content-length")).toBe("5");
    expect(list.lines(new Set())).toBe("Date: today\r\nSERVERX: kept\r\nContent-Length: 5\r\nX-Server: kept\r\nx-frame-options: DENY\r\nx-pad: 2\r\n");
    expect(list.lines(new Set(["content-length"]))).toBe("Date: today\r\nSERVERX: kept\r\nX-Server: kept\r\nx-frame-options: DENY\r\nx-pad: 2\r\n");
    expect(list.get("server")).toBeNull();
    expect(list.pairs()).toEqual([["date", "today"], ["serverx", "kept"], ["content-length", "5"], ["x-server", "kept"], ["x-frame-options", "DENY"], ["x-pad", "2"]]);
  });

  test("every line dropped by name, at every position, reads as the split block minus that name", () => {
    const names = ["Server", "Date", "X-A", "Content-Length", "x-a", "ETag"];
    const block = names.map((name, i) => `${name}: v${i}\r\n`).join("");
    for (const victim of ["server", "x-a", "etag", "date"]) {
      const want = split(block).filter(([name]) => name !== victim);
      const list = scanned(block);
      list.delete(victim);
      expect(list.lines(new Set())).toBe(block.split("\r\n").slice(0, -1).filter((line) => line.split(":")[0]!.toLowerCase() !== victim).map((line) => `${line}\r\n`).join(""));
      expect(scanned(list.lines(new Set())).pairs()).toEqual(want);
      const other = scanned(block);
      other.delete(victim);
      expect(other.pairs()).toEqual(want);
    }
  });

  test("deleteAll drops indexed and other names in one pass, as deleting each name of the set does", () => {
    const names = ["Server", "Date", "X-A", "Content-Length", "x-a", "ETag", "Connection", "SERVER"];
    const block = names.map((name, i) => `${name}: v${i}\r\n`).join("");
    const sets = [["server", "x-a"], ["content-length", "etag", "server"], ["connection"], ["x-b", "date", "x-a", "connection"], []];
    for (const drop of sets) {
      const want = split(block).filter(([name]) => !drop.includes(name));
      const once = scanned(block);
      once.append("x-a", "appended");
      once.deleteAll(new Set(drop));
      const byName = scanned(block);
      byName.append("x-a", "appended");
      for (const name of drop) byName.delete(name);
      expect(once.lines(new Set())).toBe(byName.lines(new Set()));
      expect(once.pairs()).toEqual(drop.includes("x-a") ? want : [...want, ["x-a", "appended"]]);
      const pairs = new HeaderList(split(block));
      pairs.deleteAll(new Set(drop));
      expect(pairs.pairs()).toEqual(want);
    }
  });

  test("names of an indexed name's length and first letter, but another name, are not taken for it", () => {
    // The line walk picks a candidate by length and first letter and then compares the rest in
    // any case: each of these differs from an indexed name in one later character only.
    const near = "Hosx: a\r\nHo-t: b\r\nContent-Lengtx: c\r\nContent_Length: d\r\nTe_: e\r\nTx: f\r\nCookiE: g\r\nX-Forwarded-Fox: h\r\nConnection: i\r\n";
    const text = STATUS + near;
    expect(scanFields(text, STATUS.length, fail).marks.map((mark) => [mark.name, mark.value])).toEqual([["cookie", "g"], ["connection", "i"]]);
    const list = scanned(near);
    expect(list.get("host")).toBeNull();
    expect(list.get("content-length")).toBeNull();
    expect(list.get("te")).toBeNull();
    expect(list.get("x-forwarded-for")).toBeNull();
    expect(list.pairs()).toEqual(split(near));
  });
});

describe("scanFields refuses what splitField refuses, with the same words", () => {
  const bad: [string, RegExp][] = [
    [" folded\r\n", /^folded header line$/],
    [" folded: x\r\n", /^invalid header name " folded"$/],
    ["A: 1\r\n\tcontinued\r\n", /^folded header line$/],
    ["No colon\r\n", /^invalid header line "No colon"$/],
    ["Bad name: x\r\n", /^invalid header name "Bad name"$/],
    [": empty name\r\n", /^invalid header line/],
    ["A: x\0y\r\n", /^invalid value of header "a"$/],
    ["A: bare\rCR\r\n", /^invalid value of header "a"$/],
    ["A: bare\nLF\r\n", /^invalid value of header "a"$/],
    // A bare CR or LF at either end of a value was once trimmed away and accepted.
    ["A: trailing CR\r\r\n", /^invalid value of header "a"$/],
    ["A:\nB: smuggled\r\n", /^invalid value of header "a"$/],
  ];
  for (const [block, message] of bad) {
    test(JSON.stringify(block), () => {
      const text = STATUS + block;
      expect(() => scanFields(text, STATUS.length, fail)).toThrow(message);
      expect(() => split(block)).toThrow(message);
    });
  }

  test("valid odd lines are accepted by both and read the same", () => {
    const block = "A:\r\nB:   \r\nC:x\r\n!#$%&'*+-.^_`|~09az:\tv\t\r\nD: \x80\xff latin-1\r\nCONTENT-LENGTH:5\r\n";
    expect(scanned(block).pairs()).toEqual(split(block));
    expect(scanned(block).get("content-length")).toBe("5");
  });
});

describe("the own server's answer writer with a scanned block", () => {
  test("writes the server's lines as they came, with its own framing and no hop-by-hop lines", () => {
    const list = scanned(NGINX);
    stripHopByHop(list);
    const written: Uint8Array[] = [];
    const sink = { write: (b: Uint8Array) => (written.push(b), true), writeBorrowed: (b: Uint8Array, n: number) => (written.push(new Uint8Array(b.subarray(0, n))), true), drained: async () => {}, closed: false };
    const end = writeResponse(sink, new LightResponse(200, "OK", list, new TextEncoder().encode("hello")), { head: false, minor: 1, keepAlive: true });
    expect(end).toBe("keep");
    expect(Buffer.concat(written).toString("latin1")).toBe(
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 08:20:47 GMT\r\nContent-Type: text/html\r\nETag: \"6565-400\"\r\n" +
        "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Pad:  spaced\t\r\ncontent-length: 5\r\n\r\nhello",
    );
  });
});

describe("an answer whose body is a range of the read it came in (LightResponse.ranged)", () => {
  test("is written as the same bytes as one with the body as a view, and gives its body as bytes and as a stream", async () => {
    const read = Buffer.from("..HEAD..hello world..next", "latin1");
    const writeOf = (res: LightResponse): string => {
      const written: Uint8Array[] = [];
      const sink = { write: (b: Uint8Array) => (written.push(b), true), writeBorrowed: (b: Uint8Array, n: number) => (written.push(new Uint8Array(b.subarray(0, n))), true), drained: async () => {}, closed: false };
      writeResponse(sink, res, { head: false, minor: 1, keepAlive: true });
      return Buffer.concat(written).toString("latin1");
    };
    const ranged = () => LightResponse.ranged(200, "OK", scanned(NGINX), read, 8, 11);
    expect(writeOf(ranged())).toBe(writeOf(new LightResponse(200, "OK", scanned(NGINX), read.subarray(8, 19))));
    expect(writeOf(ranged())).toEndWith("content-length: 11\r\n\r\nhello world");
    const res = ranged();
    expect(res.wholeLength).toBe(11);
    expect(Buffer.from(res.whole!).toString("latin1")).toBe("hello world");
    expect(await new Response(ranged().body).text()).toBe("hello world");
    const dst = Buffer.alloc(20, 0x2e);
    expect(ranged().copyWhole(dst, 3)).toBe(11);
    expect(dst.toString("latin1")).toBe("...hello world......");
  });
});

describe("the own server's answer writer and a repeated Content-Length", () => {
  test("an answer to HEAD with two equal Content-Length lines tells that length, as it did when fields were split", () => {
    const list = scanned("Content-Length: 5\r\nContent-Length: 5\r\n");
    const written: Uint8Array[] = [];
    const sink = { write: (b: Uint8Array) => (written.push(b), true), writeBorrowed: (b: Uint8Array, n: number) => (written.push(new Uint8Array(b.subarray(0, n))), true), drained: async () => {}, closed: false };
    writeResponse(sink, new LightResponse(200, "OK", list, null), { head: true, minor: 1, keepAlive: true });
    expect(Buffer.concat(written).toString("latin1")).toMatch(/\r\ncontent-length: 5\r\n/);
  });
});

describe("a block of fields appended as one", () => {
  const block = fieldBlock([["X-Frame-Options", "DENY"], ["Referrer-Policy", "no-referrer"]]);
  const indexedBlock = fieldBlock([["X-Request-Id", "r1"]]);
  test("an indexed name appended (one by one or in a block) is read back", () => {
    const list = scanned(NGINX);
    list.appendBlock(block);
    expect(list.get("x-request-id")).toBeNull();
    list.appendBlock(indexedBlock);
    expect(list.get("x-request-id")).toBe("r1");
    list.append("Date", "again");
    expect(list.get("date")).toBe("Thu, 26 Nov 2026 08:20:47 GMT, again");
  });
  test("reads and writes as the same fields appended one by one, however the list is edited after", () => {
    const edits: ((list: HeaderList) => void)[] = [
      () => {},
      (list) => list.append("x-a", "after"),
      (list) => list.delete("x-frame-options"),
      (list) => list.set("referrer-policy", "origin"),
      (list) => list.deleteAll(new Set(["x-a", "server"])),
      (list) => list.set("Content-Length", "7"),
      (list) => list.append("date", "later"),
    ];
    for (const edit of edits) {
      for (const start of [(l: HeaderList) => l.append("X-A", "before"), () => {}]) {
        const once = scanned(NGINX);
        const each = scanned(NGINX);
        const pairs = new HeaderList(split(NGINX));
        start(once), start(each), start(pairs);
        once.appendBlock(block);
        for (const [name, value] of block.fields) each.append(name, value);
        pairs.appendBlock(block);
        edit(once), edit(each), edit(pairs);
        for (const skip of [new Set<string>(), new Set(["referrer-policy", "content-length"])]) expect(once.lines(skip)).toBe(each.lines(skip));
        expect(once.get("x-frame-options")).toBe(each.get("x-frame-options"));
        for (const indexed of ["content-length", "date", "connection"]) expect(once.get(indexed)).toBe(pairs.get(indexed));
        expect(once.pairs()).toEqual(each.pairs());
        expect(pairs.pairs()).toEqual(each.pairs());
      }
    }
    // The block itself is never changed by the lists it went into.
    expect(block.fields).toEqual([["x-frame-options", "DENY"], ["referrer-policy", "no-referrer"]]);
    expect(block.lines).toBe("x-frame-options: DENY\r\nreferrer-policy: no-referrer\r\n");
  });
});

describe("the shapes of a scanned block", () => {
  test("every name's bit is set, so a present name is always found; an absent one mostly costs no walk", () => {
    const names = ["Server", "Date", "X-A", "Content-Length", "ETag", "Strict-Transport-Security", "x-frame-options", "Referrer-Policy", "X-Content-Type-Options", "Set-Cookie", "Via", "Alt-Svc", "^Odd", "_under", "~tilde", "1st"];
    for (let n = 0; n <= names.length; n++) {
      const block = names.slice(0, n).map((name, i) => `${name}: v${i}\r\n`).join("");
      const { shapes } = scanFields(STATUS + block, STATUS.length, fail, "answer");
      for (const name of names.slice(0, n)) expect(shapes & shapeBit(name.length, name.charCodeAt(0))).not.toBe(0);
      // Deleting each name of the block, and every one after it, gives what splitting gives.
      for (const victim of names) {
        const list = scanned(block);
        list.delete(victim);
        expect(list.pairs()).toEqual(split(block).filter(([name]) => name !== victim.toLowerCase()));
      }
    }
    expect(scanFields(STATUS, STATUS.length, fail).shapes).toBe(0);
  });
});

describe("HeaderList.set of a name the received text lacks", () => {
  test("keeps the received lines as they came (their case), and adds the new field", async () => {
    const { HeaderList } = await import("../../src/http1/header-list.ts");
    const text = "HTTP/1.1 200 OK\r\nX-Backend-Name: b1\r\nContent-Length: 2\r\n";
    const from = text.indexOf("\r\n") + 2;
    const list = HeaderList.scanned(text, from, scanFields(text, from, fail, "answer"));
    list.set("strict-transport-security", "max-age=1");
    expect(list.lines(new Set())).toBe("X-Backend-Name: b1\r\nContent-Length: 2\r\nstrict-transport-security: max-age=1\r\n");
    // A name it holds is still replaced.
    list.set("x-backend-name", "b2");
    expect(list.get("X-Backend-Name")).toBe("b2");
  });
});
