/**
 * Parses the head of a client's HTTP/1.x request (RFC 9112 §2–3, §6) for tenbin's own server.
 * Strict where leniency lets a client smuggle a second request past the balancer: both
 * Content-Length and Transfer-Encoding, conflicting lengths, folded lines, a bare CR or LF, and
 * transfer codings other than chunked are refused, as HAProxy refuses them.
 */
import type { Framing } from "./body-decoder.ts";
import { type FieldError, isToken, keepsAlive, scanFields } from "./fields.ts";
import { HeaderList } from "./header-list.ts";

/** A request the server refuses before any handler sees it; `status` is the answer (400, 431...). */
export class BadRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A parsed request line and header block. */
export interface RequestHead {
  method: string;
  /** The request target as sent (origin form `/path?q`, absolute form, or `*`). */
  target: string;
  /** The authority of an absolute-form target (checked like Host), else undefined. */
  authority: string | undefined;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Header fields in arrival order. */
  fields: HeaderList;
  /** Body framing: none, a Content-Length, or chunked. */
  framing: Framing;
  /** Whether the client keeps the connection open after the answer. */
  keepAlive: boolean;
  /** `Expect: 100-continue`: send the interim answer before reading the body. */
  expectContinue: boolean;
}

/** Longest request head accepted by default (request line and headers), as HAProxy's default buffer. */
export const MAX_REQUEST_HEAD = 16 * 1024;
/** Most header fields accepted in one request (HAProxy's default is 101). */
export const MAX_HEADER_FIELDS = 100;

/** A request target: no controls, no spaces (raw UTF-8 in a path passes, as nginx lets it). */
const TARGET = /^[^\0-\x20\x7f]+$/;
const VERSION = /^HTTP\/1\.([01])$/;
/**
 * A Host value, or the authority of an absolute-form target: `uri-host [":" port]` (RFC 9110 §7.2,
 * RFC 3986 §3.2.2), an IP literal in brackets or a reg-name, which may be empty. No userinfo (RFC
 * 9110 §4.2.4), no "/", no spaces: RFC 9112 §3.2 answers an invalid Host with 400. Also what the
 * runtime engine checks (listener/runtime-refusals.ts).
 */
export const HOST = /^(?:\[[0-9A-Za-z._~!$&'()*+,;=:%-]+\]|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::\d*)?$/;

/** A refused header line of a request; the client's bytes are not echoed back to it. */
const badRequestLine: FieldError = (message) => new BadRequestError(400, message);

/**
 * Parses `text`, the request line and header lines, each ended by CRLF, the blank line excluded (a
 * missing last CRLF is added). Throws `BadRequestError`.
 */
export function parseRequestHead(text: string): RequestHead {
  if (!text.endsWith("\r\n")) text += "\r\n";
  const usual = USUAL_LINE.exec(text);
  // CONNECT takes the long way too, which refuses it.
  return usual !== null && usual[1] !== "CONNECT" ? headOf(text, usual[0].length - 2, usual[1]!, usual[2]!, undefined, Number(usual[3])) : parseOddHead(text);
}

/**
 * The usual request line in one match: a token method, an origin-form target, HTTP/1.0 or 1.1.
 * Anything else (and every refusal) goes the long way, which words the error.
 */
const USUAL_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\/[^\0-\x20\x7f]*) HTTP\/1\.([01])\r\n/;

/** `parseRequestHead` of a request line `USUAL_LINE` does not take, checked part by part. */
function parseOddHead(text: string): RequestHead {
  const lineEnd = text.indexOf("\r\n");
  const requestLine = text.slice(0, lineEnd);
  const sp1 = requestLine.indexOf(" ");
  const sp2 = requestLine.lastIndexOf(" ");
  if (sp1 <= 0 || sp2 <= sp1) throw new BadRequestError(400, "invalid request line");
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  const version = VERSION.exec(requestLine.slice(sp2 + 1));
  if (version === null) {
    if (/^HTTP\/\d(\.\d)?$/.test(requestLine.slice(sp2 + 1))) throw new BadRequestError(505, "HTTP version not supported");
    throw new BadRequestError(400, "invalid request line");
  }
  if (!isToken(method)) throw new BadRequestError(400, "invalid method");
  if (!TARGET.test(target)) throw new BadRequestError(400, "invalid request target");
  if (method === "CONNECT") throw new BadRequestError(405, "CONNECT is not supported");
  if (target === "*" ? method !== "OPTIONS" : target[0] !== "/" && !/^https?:\/\//i.test(target)) throw new BadRequestError(400, "invalid request target");
  const authority = target[0] === "/" || target === "*" ? undefined : (/^https?:\/\/([^/?#]*)/i.exec(target)?.[1] ?? "");
  if (authority !== undefined && !HOST.test(authority)) throw new BadRequestError(400, "invalid authority in the request target");
  return headOf(text, lineEnd, method, target, authority, Number(version[1]));
}

/** The rest of `parseRequestHead` once the request line (ending at `lineEnd`) is read and checked. */
function headOf(text: string, lineEnd: number, method: string, target: string, authority: string | undefined, minor: number): RequestHead {
  // A field line is at least 4 bytes ("a:" and CRLF), so a short head cannot hold too many.
  if (text.length - lineEnd > 4 * MAX_HEADER_FIELDS && fieldCount(text, lineEnd + 2) > MAX_HEADER_FIELDS) {
    throw new BadRequestError(431, `more than ${MAX_HEADER_FIELDS} header fields`);
  }
  const scanned = scanFields(text, lineEnd + 2, badRequestLine);
  const marks = scanned.marks;
  let length: string | undefined;
  let transferEncoding: string | undefined;
  let connection = "";
  let hosts = 0;
  let expect: string | undefined;
  for (const { name, value } of marks) {
    switch (name) {
      case "content-length":
        if (!/^\d{1,15}$/.test(value) || (length !== undefined && length !== value)) throw new BadRequestError(400, "invalid Content-Length");
        length = value;
        break;
      case "transfer-encoding":
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
      case "connection":
        connection += `${value.toLowerCase()},`;
        break;
      case "host":
        hosts++;
        if (!HOST.test(value)) throw new BadRequestError(400, "invalid Host header");
        break;
      case "expect":
        expect = value.toLowerCase();
        break;
    }
  }
  if (hosts > 1 || (hosts === 0 && minor === 1)) throw new BadRequestError(400, hosts > 1 ? "more than one Host header" : "missing Host header");
  let framing: Framing = { kind: "none" };
  if (transferEncoding !== undefined) {
    if (length !== undefined) throw new BadRequestError(400, "both Content-Length and Transfer-Encoding");
    if (minor === 0) throw new BadRequestError(400, "Transfer-Encoding in an HTTP/1.0 request");
    // Exactly one `chunked` (values come without their SP/HTAB; any other byte around it, \x0b or
    // \xa0 included, makes another coding): a second chunked, an empty element or another coding
    // is nothing tenbin can decode (RFC 9112 §6.1, §7).
    if (!/^chunked$/i.test(transferEncoding)) throw new BadRequestError(501, "transfer coding not supported");
    framing = { kind: "chunked" };
  } else if (length !== undefined) framing = { kind: "length", length: Number(length) };
  if (expect !== undefined && expect !== "100-continue") throw new BadRequestError(417, "expectation not supported");
  return {
    method,
    target,
    authority,
    minor,
    fields: HeaderList.scanned(text, lineEnd + 2, scanned),
    framing,
    keepAlive: keepsAlive(minor === 1, connection),
    expectContinue: expect === "100-continue" && minor === 1 && framing.kind !== "none",
  };
}

/** The number of lines in `text` from `from` on. */
function fieldCount(text: string, from: number): number {
  let count = 0;
  for (let at = text.indexOf("\r\n", from); at >= 0; at = text.indexOf("\r\n", at + 2)) count++;
  return count;
}

/** A `.` or `..` path segment, also percent-encoded (as the URL standard reads them). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:[/?#]|$)/i;

/**
 * `target` with its path's dot segments resolved (RFC 3986 §5.2.4), `%2e` read as a dot, as the
 * runtime's server resolves them: a route for /admin/ must not be passed by /x/../admin/ that
 * the server behind resolves. Anything else of the target stays as sent (no other decoding, a
 * leading `//` kept).
 */
export function withoutDotSegments(target: string): string {
  if (!DOT_SEGMENT.test(target)) return target;
  const pathStart = target[0] === "/" ? 0 : target.indexOf("/", target.indexOf("//") + 2);
  if (pathStart < 0) return target;
  const query = target.slice(pathStart).search(/[?#]/);
  return resolvePath(target, pathStart, query < 0 ? target.length : pathStart + query);
}

/** `target` with the dot segments of its path (from `pathStart` to `pathEnd`) resolved. */
function resolvePath(target: string, pathStart: number, pathEnd: number): string {
  const out: string[] = [];
  const segments = target.slice(pathStart + 1, pathEnd).split("/");
  segments.forEach((segment, i) => {
    const dots = /^(?:\.|%2e)+$/i.test(segment) ? segment.replace(/%2e/gi, ".").length : 0;
    if (dots === 2 && out.length > 0) out.pop();
    if (dots === 1 || dots === 2) {
      // A dot segment at the end leaves the path ending with a slash.
      if (i === segments.length - 1) out.push("");
      return;
    }
    out.push(segment);
  });
  return `${target.slice(0, pathStart)}/${out.join("/")}${target.slice(pathEnd)}`;
}
