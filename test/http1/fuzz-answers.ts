// Differential fuzzing of the answer side of the codec (ResponseParser: what a backend sends)
// against llhttp, as fuzz-requests.ts does for requests. Each case is a mutated answer, then a
// sentinel answer after it; the server's close ends the input. tenbin reads the first answer byte
// by byte (so where it ends is exact), then the rest as the next answer on the same connection.
import { Buffer } from "node:buffer";
import { BadResponseError, ResponseParser } from "../../src/http1/response-parser.ts";
import {
  type CampaignReport, CODINGS, EXTENSIONS, type FuzzCase, type FuzzMessage, type FuzzSide, type Justified, LENGTHS, ODD_BYTES, prng, runDifferential, SPACES, TRAILERS, type Verdict,
} from "./fuzz-shared.ts";

const SENTINEL = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const STATUS_LINES = ["HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified", "HTTP/1.1 200", "HTTP/1.1 200 ", "HTTP/1.1 999 Odd", "HTTP/1.1 101 Switching Protocols", "HTTP/1.1 2000 X", "HTTP/1.2 200 OK", "http/1.1 200 OK", "HTTP/1.1 200 O\x01K", "HTTP/1.1  200 OK", "HTTP/1.1 404 Not Found"];

/** Makes the answer cases of a campaign from `seed`. */
export function* generateAnswers(seed: number, count: number): Generator<FuzzCase> {
  const random = prng(seed ^ 0x5eed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const chance = (p: number) => random() < p;
  for (let id = 0; id < count; id++) {
    const mutations: string[] = [];
    const statusLine = chance(0.85) ? "HTTP/1.1 200 OK" : pick(STATUS_LINES);
    const fields: [string, string][] = [["Server", "fuzz"], ["Content-Type", "text/plain"]];
    let body = "";
    const kind = pick(["length", "chunked", "chunked", "close"]);
    if (kind === "length") {
      fields.push(["Content-Length", "5"]);
      body = "hello";
    } else if (kind === "chunked") {
      fields.push(["Transfer-Encoding", "chunked"]);
      for (const piece of ["he", "llo"]) {
        let size = piece.length.toString(16);
        if (chance(0.15)) {
          const ext = pick(EXTENSIONS);
          size += ext;
          mutations.push(`extension ${JSON.stringify(ext)}`);
        }
        if (chance(0.1)) {
          const ws = pick(SPACES);
          size = chance(0.5) ? `${ws}${size}` : `${size}${ws}`;
          mutations.push(`chunk line whitespace ${JSON.stringify(ws)}`);
        }
        body += `${size}\r\n${piece}\r\n`;
      }
      body += "0\r\n";
      if (chance(0.25)) {
        const trailer = pick(TRAILERS);
        body += `${trailer}\r\n`;
        mutations.push(`trailer ${JSON.stringify(trailer)}`);
      }
      body += "\r\n";
    } else body = "hello";
    for (let rounds = Math.floor(random() * 4); rounds > 0; rounds--) {
      if (fields.length === 0) fields.push(["X-A", "1"]);
      const i = Math.floor(random() * fields.length);
      const f = fields[i]!;
      switch (Math.floor(random() * 7)) {
        case 0: {
          const ws = pick(SPACES);
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
          const odd = pick(ODD_BYTES);
          const pos = Math.floor(random() * (f[1].length + 1));
          fields[i] = [f[0], f[1].slice(0, pos) + odd + f[1].slice(pos)];
          mutations.push(`value byte ${JSON.stringify(odd)} in ${f[0]}`);
          break;
        }
        case 4:
          fields.push(["Connection", pick(["close", "keep-alive", "Close", "close\x0b"])]);
          mutations.push("connection field");
          break;
        case 5: {
          const odd = pick([" ", "\t", "\x0b", "\0"]);
          fields[i] = [`${f[0]}${odd}`, f[1]];
          mutations.push(`name byte ${JSON.stringify(odd)}`);
          break;
        }
        default:
          fields.splice(i, 1);
          mutations.push("field removed");
      }
    }
    let text = `${chance(0.1) ? "HTTP/1.1 100 Continue\r\n\r\n" : ""}${statusLine}\r\n`;
    for (const [name, value] of fields) text += `${name}: ${value}\r\n`;
    text += `\r\n${body}`;
    if (chance(0.3)) {
      const at = Math.floor(random() * text.length);
      const crlf = text.indexOf("\r\n", at);
      if (chance(0.5) && crlf >= 0) {
        text = text.slice(0, crlf) + "\n" + text.slice(crlf + 2);
        mutations.push(`bare LF at ${crlf}`);
      } else {
        const odd = pick(ODD_BYTES);
        text = text.slice(0, at) + odd + text.slice(at);
        mutations.push(`byte ${JSON.stringify(odd)} at ${at}`);
      }
    }
    yield { id, bytes: Buffer.from(text + SENTINEL, "latin1"), splits: [], mutations };
  }
}

/** tenbin's reading of an answer case: the first answer byte by byte, the rest as the next one. */
export function tenbinAnswers(fuzz: FuzzCase): FuzzSide {
  const side: FuzzSide = { messages: [], status: "ok" };
  let current: FuzzMessage | undefined;
  let body: Buffer[] = [];
  let ended = false;
  const parser = new ResponseParser({
    head: (head) => {
      current = { method: String(head.status), target: "", minor: 1, headers: head.headers.pairs().map(([n, v]) => [n, v]), body: "", keepAlive: head.keepAlive };
    },
    body: (chunk) => body.push(Buffer.from(chunk)),
    end: () => {
      current!.body = Buffer.concat(body).toString("latin1");
      side.messages.push(current!);
      body = [];
      ended = true;
    },
  });
  const bytes = fuzz.bytes;
  try {
    parser.reset(false);
    let at = 0;
    while (at < bytes.length && !ended) parser.push(bytes.subarray(at, ++at));
    if (!ended) parser.finish();
    if (at < bytes.length) {
      if (!side.messages[0]!.keepAlive) return { ...side, status: "closed" };
      ended = false;
      parser.reset(false);
      parser.push(bytes.subarray(at));
      if (!ended) parser.finish();
    }
  } catch (error) {
    if (!(error instanceof BadResponseError)) throw error;
    side.status = "error";
    side.error = error.message;
  }
  return side;
}

/** A class of answers tenbin takes and llhttp refuses, with the reason that is fine. */
export const JUSTIFIED_ANSWERS: readonly Justified[] = [
  {
    name: "controls in a server's field values",
    why: "HAProxy passes controls other than NUL, CR and LF in a server's field values, and so does tenbin (framing fields are read strictly either way); llhttp refuses them",
    applies: (error, input) => error.startsWith("HPE_INVALID_HEADER_TOKEN Invalid header value char") && /:[^\r\n]*[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(input),
  },
  {
    name: "SP/HTAB in chunk lines",
    why: "as for requests: RFC 9112 §7.1.1 BWS, HAProxy accepts; tenbin decodes the body and frames it again",
    applies: (error, input) => /^HPE_(INVALID_CHUNK_SIZE|STRICT)/.test(error) && /\r\n[0-9A-Fa-f]+[ \t;]/.test(input),
  },
  {
    name: "framing fields in trailers",
    why: "as for requests: every trailer field is read and dropped",
    // llhttp even lets a Transfer-Encoding in trailers close the connection (HPE_CLOSED_CONNECTION after it).
    applies: (error, input) => /^HPE_(INVALID_TRANSFER_ENCODING|INVALID_CONTENT_LENGTH|UNEXPECTED_CONTENT_LENGTH|CLOSED_CONNECTION)/.test(error) && /\r\n0+(?:[ \t;][^\r\n]*)?\r\n(?:[^\r\n]*\r\n)*?(?:content-length|transfer-encoding)[ \t]*:/i.test(input),
  },
  {
    name: "equal duplicate Content-Length",
    why: "RFC 9110 §8.6: identical values, in several lines or a list in one, may be taken as one (HAProxy does); different ones are a 502",
    applies: (error, input) => error.startsWith("HPE_UNEXPECTED_CONTENT_LENGTH") || (error.startsWith("HPE_INVALID_CONTENT_LENGTH Invalid character") && /\ncontent-length:[ \t]*(\d+)(?:[ \t]*,[ \t]*\1)+[ \t]*\r\n/i.test(input)),
  },
  {
    name: "Content-Length beside Transfer-Encoding in an answer",
    why: "RFC 9112 §6.1/§6.3: Transfer-Encoding wins and Content-Length is dropped, as HAProxy reads a server's answer; tenbin frames the body again and does not reuse that server connection",
    applies: (error) => /can't be present with (Content-Length|Transfer-Encoding)/.test(error),
  },
  {
    name: "HTAB after a framing field's value",
    why: "RFC 9110 §5.5: SP and HTAB around a value are not part of it",
    applies: (error, input) => /^HPE_(INVALID_TRANSFER_ENCODING|INVALID_CONTENT_LENGTH)/.test(error) && /\n(?:transfer-encoding|content-length):[^\r\n]*[^ \t\r\n][ \t]*\t[ \t]*\r\n/i.test(input),
  },
];

/** Classes of answers both read, differently, with the reason tenbin's reading is the one to keep. */
const JUSTIFIED_READINGS: readonly { name: string; why: string; applies: (input: string) => boolean }[] = [
  {
    name: "HTAB after chunked in an answer",
    why: "RFC 9110 §5.5: HTAB around a field value is optional whitespace, so `chunked<HTAB>` is chunked, as HAProxy reads it; llhttp takes it for an unknown coding and reads until close. tenbin frames the body again for its client, so only the server that wrote the bytes is read differently",
    applies: (input) => /\ntransfer-encoding:[^\r\n]*chunked[ \t]*\t[ \t]*\r\n/i.test(input),
  },
];

/** Names tenbin removes from an answer it passes on decoded (see response-parser.ts). */
const FRAMING = new Set(["content-length", "transfer-encoding"]);

/** Compares the two readings of an answer case. */
export function compareAnswers(fuzz: FuzzCase, tenbin: FuzzSide, llhttp: FuzzSide): Verdict {
  const input = fuzz.bytes.toString("latin1");
  const verdict = compareReadings(input, tenbin, llhttp);
  if (verdict.kind !== "mismatch") return verdict;
  const reading = JUSTIFIED_READINGS.find((j) => j.applies(input));
  return reading === undefined ? verdict : { kind: "justified", name: reading.name };
}

function compareReadings(input: string, tenbin: FuzzSide, llhttp: FuzzSide): Verdict {
  // tenbin skips interim answers (1xx but 101); llhttp reports them as messages.
  const ll = llhttp.messages.filter((m) => !/^1\d\d$/.test(m.method) || m.method === "101");
  const tb = tenbin.messages;
  const common = Math.min(tb.length, ll.length);
  for (let i = 0; i < common; i++) {
    const a = tb[i]!;
    const b = ll[i]!;
    const fields = (m: FuzzMessage) => JSON.stringify(m.headers.map(([n, v]) => [n.toLowerCase(), v]).filter(([n]) => !FRAMING.has(n!)));
    if (a.method !== b.method) return { kind: "mismatch", why: `answer ${i}: status ${a.method} vs ${b.method}` };
    if (fields(a) !== fields(b)) return { kind: "mismatch", why: `answer ${i}: fields ${fields(a)} vs ${fields(b)}` };
    if (a.body !== b.body) return { kind: "mismatch", why: `answer ${i}: body ${JSON.stringify(a.body)} vs ${JSON.stringify(b.body)}` };
    if (a.keepAlive && !b.keepAlive) return { kind: "mismatch", why: `answer ${i}: tenbin keeps the connection, llhttp closes it` };
  }
  if (tb.length > ll.length) {
    if (llhttp.status === "error") {
      const found = JUSTIFIED_ANSWERS.find((j) => j.applies(llhttp.error ?? "", input));
      return found === undefined ? { kind: "mismatch", why: `tenbin read answer ${ll.length} that llhttp refused (${llhttp.error})` } : { kind: "justified", name: found.name };
    }
    return { kind: "mismatch", why: `tenbin read answer ${ll.length}; llhttp is ${llhttp.status}: the answer ends differ` };
  }
  if (tb.length < ll.length) {
    if (tenbin.status === "error" || tenbin.status === "closed") return { kind: "stricter", tenbin: tenbin.error ?? tenbin.status };
    return { kind: "mismatch", why: `llhttp read answer ${tb.length}; tenbin is ${tenbin.status}` };
  }
  if (tenbin.status === "error" && llhttp.status !== "error") return { kind: "stricter", tenbin: tenbin.error ?? "" };
  return { kind: "agree" };
}

/** Runs `count` answer cases from `seed` through both parsers. */
export function runAnswerCampaign(seed: number, count: number): Promise<CampaignReport> {
  return runDifferential(generateAnswers(seed, count), "response", tenbinAnswers, compareAnswers);
}
