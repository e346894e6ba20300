// Differential fuzzing of the request side of the codec against Node's llhttp (issue 16, Build 6).
// A seeded generator mutates valid requests (whitespace, case, duplicated and conflicting framing
// fields, chunk sizes and extensions, trailers, bare CR/LF, controls and non-ASCII bytes) and
// splits them at random points; tenbin's RequestReader and llhttp (one `node` process, see
// llhttp-oracle.cjs) each read the bytes, with a sentinel request after them so that where a
// message ends shows. Wherever both accept, they must agree on method, target, fields, body, keep-
// alive and message count; wherever tenbin accepts what llhttp refuses, the case must fall in one
// of the named, justified classes of `JUSTIFIED`. tenbin refusing what llhttp accepts is allowed
// (stricter is safe) and counted.
import { Buffer } from "node:buffer";
import { BadRequestError } from "../../src/http1/request-head.ts";
import { RequestReader } from "../../src/http1/request-reader.ts";
import {
  type CampaignReport, CODINGS, EXTENSIONS, type FuzzCase, type FuzzMessage, type FuzzSide, type Justified, LENGTHS, ODD_BYTES, prng, runDifferential, SPACES, TRAILERS, type Verdict,
} from "./fuzz-shared.ts";

export type { FuzzCase } from "./fuzz-shared.ts";
export { LlhttpOracle } from "./fuzz-shared.ts";

const SENTINEL = "GET /sentinel HTTP/1.1\r\nHost: s\r\n\r\n";
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "get", "Post", "FOO", "CONNECT", "M-SEARCH", "PROPFIND"];
const TARGETS = ["/", "/a/b?c=d", "/%61dmin/x", "*", "http://h.example/p", "/a b", "/caf\xc3\xa9", "//x", "/?q=\"", "/a#f", "", "/x\x7f", "h.example:443"];
const VERSIONS = ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "http/1.1", "HTTP/1.2", "HTTP/2.0", "HTTP/1.10", "HTTP/1"];

/** Makes the cases of a campaign from `seed`. */
export function* generateCases(seed: number, count: number): Generator<FuzzCase> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number) => random() < p;
  for (let id = 0; id < count; id++) {
    const mutations: string[] = [];
    let method = chance(0.8) ? pick(["GET", "POST", "PUT"]) : pick(METHODS);
    const target = chance(0.85) ? "/p?q=1" : pick(TARGETS);
    const version = chance(0.85) ? "HTTP/1.1" : pick(VERSIONS);
    const fields: [string, string][] = [["Host", "h.example"], ["User-Agent", "fuzz"]];
    let body = "";
    const kind = pick(["none", "length", "chunked", "chunked"]);
    const data = "hello";
    if (kind === "length") {
      fields.push(["Content-Length", "5"]);
      body = data;
      if (method === "GET") method = "POST";
    } else if (kind === "chunked") {
      fields.push(["Transfer-Encoding", "chunked"]);
      const pieces = [data.slice(0, 2), data.slice(2)];
      for (const piece of pieces) {
        let size = piece.length.toString(16);
        if (chance(0.1)) size = `0${size}`;
        if (chance(0.03)) {
          size = pick(["00000000000002", "fffffffffffffffff", "1000000000000", "2;", "-2", "0x2", "2.0", ""]);
          mutations.push(`chunk size ${JSON.stringify(size)}`);
        }
        let ext = "";
        if (chance(0.2)) {
          ext = pick(EXTENSIONS);
          mutations.push(`extension ${JSON.stringify(ext)}`);
        }
        if (chance(0.1)) {
          const ws = pick(SPACES);
          size = chance(0.5) ? `${size}${ws}` : `${ws}${size}`;
          mutations.push(`chunk size whitespace ${JSON.stringify(ws)}`);
        }
        body += `${size}${ext}\r\n${piece}\r\n`;
      }
      body += "0";
      if (chance(0.15)) body += pick(EXTENSIONS);
      body += "\r\n";
      if (chance(0.25)) {
        const trailer = pick(TRAILERS);
        body += `${trailer}\r\n`;
        mutations.push(`trailer ${JSON.stringify(trailer)}`);
      }
      body += "\r\n";
      if (method === "GET") method = "POST";
    }
    // Structural mutations.
    const rounds = Math.floor(random() * 4);
    for (let r = 0; r < rounds; r++) {
      if (fields.length === 0) fields.push(["X-A", "1"]);
      switch (Math.floor(random() * 10)) {
        case 0: {
          const i = Math.floor(random() * fields.length);
          const ws = pick(SPACES);
          const f = fields[i]!;
          fields[i] = chance(0.5) ? [f[0], `${ws}${f[1]}`] : [f[0], `${f[1]}${ws}`];
          mutations.push(`value whitespace ${JSON.stringify(ws)} on ${f[0]}`);
          break;
        }
        case 1: {
          const value = pick(LENGTHS);
          fields.push(["Content-Length", value]);
          mutations.push(`content-length ${JSON.stringify(value)}`);
          break;
        }
        case 2: {
          const value = pick(CODINGS);
          fields.push(["Transfer-Encoding", value]);
          mutations.push(`transfer-encoding ${JSON.stringify(value)}`);
          break;
        }
        case 3: {
          const i = Math.floor(random() * fields.length);
          const f = fields[i]!;
          fields[i] = [chance(0.5) ? f[0].toUpperCase() : f[0].toLowerCase(), f[1]];
          mutations.push(`name case ${f[0]}`);
          break;
        }
        case 4: {
          const i = Math.floor(random() * fields.length);
          const f = fields[i]!;
          const odd = pick([" ", "\t", "\x0b", "_", "\xe9", "\0"]);
          fields[i] = [chance(0.5) ? `${f[0]}${odd}` : `${odd}${f[0]}`, f[1]];
          mutations.push(`name byte ${JSON.stringify(odd)}`);
          break;
        }
        case 5: {
          fields.push(chance(0.5) ? ["Host", "other.example"] : ["X-Dup", "1"]);
          mutations.push("duplicate field");
          break;
        }
        case 6: {
          const i = Math.floor(random() * fields.length);
          const f = fields[i]!;
          const pos = Math.floor(random() * (f[1].length + 1));
          const odd = pick(ODD_BYTES);
          fields[i] = [f[0], f[1].slice(0, pos) + odd + f[1].slice(pos)];
          mutations.push(`value byte ${JSON.stringify(odd)} in ${f[0]}`);
          break;
        }
        case 7: {
          fields.splice(Math.floor(random() * fields.length), 1);
          mutations.push("field removed");
          break;
        }
        case 8: {
          fields.push(["Connection", pick(["close", "keep-alive", "Close", "close\x0b", "x, close", "upgrade"])]);
          mutations.push("connection field");
          break;
        }
        default: {
          fields.push(["X-Folded", "a"], [" b", ""]);
          mutations.push("obs-fold");
        }
      }
    }
    // The request line's separators: one SP, or what lenient parsers also split on.
    const sep = () => (chance(0.92) ? " " : pick(["  ", "\t", " \t", "\x0b", "\xa0", ""]));
    const first = sep();
    const second = sep();
    if (first !== " " || second !== " ") mutations.push(`request line separators ${JSON.stringify(first)} ${JSON.stringify(second)}`);
    let head = `${method}${first}${target}${second}${version}${chance(0.03) ? pick([" ", "\t"]) : ""}\r\n`;
    for (const [name, value] of fields) head += name.startsWith(" ") && value === "" ? `${name}\r\n` : `${name}: ${value}\r\n`;
    let text = `${head}\r\n${body}`;
    // Byte mutations: bare CR/LF for CRLF, odd bytes anywhere, deletions, duplications.
    const byteRounds = chance(0.35) ? 1 + Math.floor(random() * 3) : 0;
    for (let r = 0; r < byteRounds; r++) {
      const at = Math.floor(random() * text.length);
      switch (Math.floor(random() * 5)) {
        case 0: {
          const crlf = text.indexOf("\r\n", at);
          if (crlf >= 0) {
            const bare = chance(0.5) ? "\n" : "\r";
            text = text.slice(0, crlf) + bare + text.slice(crlf + 2);
            mutations.push(`bare ${bare === "\n" ? "LF" : "CR"} at ${crlf}`);
          }
          break;
        }
        case 1: {
          const odd = pick(ODD_BYTES);
          text = text.slice(0, at) + odd + text.slice(at);
          mutations.push(`byte ${JSON.stringify(odd)} at ${at}`);
          break;
        }
        case 2:
          text = text.slice(0, at) + text.slice(at + 1);
          mutations.push(`deleted ${at}`);
          break;
        case 3:
          text = text.slice(0, at) + text[at] + text.slice(at);
          mutations.push(`doubled ${at}`);
          break;
        default:
          text = text.slice(0, at) + pick(SPACES) + text.slice(at);
          mutations.push(`space at ${at}`);
      }
    }
    if (method !== "GET" && !mutations.length && chance(0.02)) mutations.push("valid");
    const bytes = Buffer.from(text + SENTINEL, "latin1");
    const splits: number[] = [];
    if (chance(0.05)) for (let i = 1; i < bytes.length; i++) splits.push(i);
    else for (let n = Math.floor(random() * 4); n > 0; n--) splits.push(1 + Math.floor(random() * (bytes.length - 1)));
    splits.sort((a, b) => a - b);
    yield { id, bytes, splits, mutations };
  }
}

/** tenbin's reading of a case: the codec's RequestReader, fed at the case's split points, each request answered at once. */
export function tenbinSide(fuzz: FuzzCase, maxHead = 16 * 1024): FuzzSide {
  const side: FuzzSide = { messages: [], status: "ok" };
  let current: FuzzMessage | undefined;
  let body: Buffer[] = [];
  let closed = false;
  const done = () => {
    current!.body = Buffer.concat(body).toString("latin1");
    side.messages.push(current!);
    body = [];
    if (current!.keepAlive) reader.next();
    else closed = true;
    current = undefined;
  };
  const reader: RequestReader = new RequestReader(
    {
      requestHead(head, hasBody) {
        current = { method: head.method, target: head.target, minor: head.minor, headers: head.fields.pairs().map(([n, v]) => [n, v]), body: "", keepAlive: head.keepAlive };
        if (!hasBody) done();
      },
      requestBody: (chunk) => body.push(Buffer.from(chunk)),
      requestEnd: () => done(),
    },
    maxHead,
  );
  try {
    let from = 0;
    for (const at of [...fuzz.splits, fuzz.bytes.length]) {
      if (closed) break;
      if (at > from) reader.push(fuzz.bytes.subarray(from, at));
      from = at;
    }
  } catch (error) {
    if (!(error instanceof BadRequestError)) throw error;
    side.status = "error";
    side.error = `${error.status} ${error.message}`;
    return side;
  }
  if (closed) side.status = "closed";
  else if (current !== undefined || reader.keptBytes > 0) side.status = "incomplete";
  return side;
}

/** Every difference allowed; anything else fails the campaign. */
export const JUSTIFIED: readonly Justified[] = [
  {
    name: "extension methods",
    why: "RFC 9110 §9.1: a method is any token, case-sensitive; tenbin forwards unknown ones as HAProxy and nginx do (a route or the server refuses them), llhttp knows a fixed list",
    applies: (error) => error.startsWith("HPE_INVALID_METHOD"),
  },
  {
    name: "SP/HTAB in chunk lines",
    why: "RFC 9112 §7.1.1 allows BWS around the `;` and `=` of chunk extensions, and HAProxy accepts SP/HTAB after the size; tenbin decodes the body and frames it again, so no server behind sees those bytes",
    applies: (error, input) => /^HPE_(INVALID_CHUNK_SIZE|STRICT)/.test(error) && /\r\n[0-9A-Fa-f]+[ \t;]/.test(input),
  },
  {
    name: "raw non-ASCII in the target",
    why: "tenbin passes raw UTF-8 (obs-text) in a path as nginx does; it is never a framing byte, and routing sees it as sent",
    applies: (error, input) => error.startsWith("HPE_INVALID_URL") && /^[^\r\n]*[\x80-\xff]/.test(input),
  },
  {
    name: "equal duplicate Content-Length lines",
    why: "RFC 9110 §8.6 lets a recipient take identical Content-Length lines as one (HAProxy does); different ones are a 400",
    applies: (error) => error.startsWith("HPE_UNEXPECTED_CONTENT_LENGTH"),
  },
  {
    name: "framing fields in trailers",
    why: "RFC 9110 §6.5.1 forbids framing fields in trailers; tenbin reads every trailer field and drops it (none reaches the server), where llhttp refuses these; HAProxy drops them too",
    applies: (error, input) =>
      /^HPE_(INVALID_TRANSFER_ENCODING|INVALID_CONTENT_LENGTH|UNEXPECTED_CONTENT_LENGTH)/.test(error) &&
      /\r\n0+(?:[ \t;][^\r\n]*)?\r\n(?:[^\r\n]*\r\n)*?(?:content-length|transfer-encoding)[ \t]*:/i.test(input),
  },
  {
    name: "HTAB after a framing field's value",
    why: "RFC 9110 §5.5: SP and HTAB around a field value are not part of it (HAProxy trims both); llhttp's Content-Length and Transfer-Encoding readers take only SP after the value",
    applies: (error, input) =>
      /^HPE_(INVALID_TRANSFER_ENCODING|INVALID_CONTENT_LENGTH)/.test(error) && /\n(?:transfer-encoding|content-length):[^\r\n]*[^ \t\r\n][ \t]*\t[ \t]*\r\n/i.test(input),
  },
];

/** Compares the two readings of `fuzz`. */
export function compare(fuzz: FuzzCase, tenbin: FuzzSide, llhttp: FuzzSide): Verdict {
  const input = fuzz.bytes.toString("latin1");
  const ll = llhttp.messages.map(normalise);
  const tb = tenbin.messages.map(normalise);
  const common = Math.min(tb.length, ll.length);
  for (let i = 0; i < common; i++) {
    const a = tb[i]!;
    const b = ll[i]!;
    for (const key of ["method", "target", "minor", "headers", "body"] as const) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return { kind: "mismatch", why: `message ${i}: ${key} ${JSON.stringify(a[key])} (tenbin) vs ${JSON.stringify(b[key])} (llhttp)` };
    }
    // Closing where llhttp would keep the connection is safe; the other way round is not.
    if (a.keepAlive && !b.keepAlive) return { kind: "mismatch", why: `message ${i}: tenbin keeps the connection, llhttp closes it` };
  }
  const llStop = llhttp.status === "error" && llhttp.error?.startsWith("HPE_CLOSED_CONNECTION") ? "closed" : llhttp.status;
  if (tb.length > ll.length) {
    // tenbin read a message llhttp did not.
    if (llStop === "error") return justify(llhttp.error ?? "", input, `tenbin read message ${ll.length} that llhttp refused (${llhttp.error})`);
    if (llStop === "upgrade") return { kind: "justified", name: "upgrade" };
    return { kind: "mismatch", why: `tenbin read message ${ll.length}; llhttp stopped (${llStop}): the message ends differ` };
  }
  if (tb.length < ll.length) {
    if (tenbin.status === "error" || tenbin.status === "closed") return { kind: "stricter", tenbin: tenbin.error ?? tenbin.status };
    return { kind: "mismatch", why: `llhttp read message ${tb.length}; tenbin is ${tenbin.status}: the message ends differ` };
  }
  if (tenbin.status === "ok" && llStop === "error") return justify(llhttp.error ?? "", input, `tenbin read everything, llhttp refused the rest (${llhttp.error})`);
  if (tenbin.status === "error" && llStop !== "error") return { kind: "stricter", tenbin: tenbin.error ?? "" };
  return { kind: "agree" };
}

function justify(error: string, input: string, why: string): Verdict {
  const found = JUSTIFIED.find((j) => j.applies(error, input));
  return found === undefined ? { kind: "mismatch", why } : { kind: "justified", name: found.name };
}

/** A message with names in lower case (llhttp gives them as sent). */
function normalise(m: FuzzMessage): FuzzMessage {
  return { ...m, headers: m.headers.map(([n, v]) => [n.toLowerCase(), v]) };
}

/** Runs `count` request cases from `seed` through both parsers. */
export function runCampaign(seed: number, count: number): Promise<CampaignReport> {
  return runDifferential(generateCases(seed, count), "request", (fuzz) => tenbinSide(fuzz), compare);
}
