/**
 * The path a route matches and the path a server receives, made from the path as sent (docs/paths.md).
 *
 * A route for `/admin/` must take every request the server behind reads as `/admin/...`, however it
 * was spelled: `/%61dmin/`, `/x/../admin/`, `/x/%2e%2e/admin/`, `//admin/`, `/admin\`. So routes
 * match a normalized path: percent-encoded unreserved characters decoded (RFC 3986 §6.2.2.2), other
 * percent-encodings upper-cased (§6.2.2.1), a backslash read as a slash (as the URL standard and
 * Bun.serve read it), dot segments resolved (§5.2.4), and, by default, runs of slashes merged (as
 * nginx does). `%2F` stays data, never a separator; a dot-dot segment hidden behind one (`..%2F`) is
 * refused, since a server that decodes `%2F` would climb out of the route with it. Path parameters
 * (`;x=1`) are left out of the path a route sees, as servlet containers leave them out.
 */
import type { PathsConfig } from "../config/schema-paths.ts";

/** Bytes whose presence sends a path the slow way; without them the path is already normal. */
const SLOW_WITH_MERGE = /[%\\;]|\/[./]/;
const SLOW_WITHOUT_MERGE = /[%\\;]|\/\./;
/** A segment made of `..` hidden behind an encoded slash: `..%2F`, `%2F..`. */
const HIDDEN_DOT_DOT = /(?:^|\/|%2F|%5C)\.\.(?:%2F|%5C)|(?:%2F|%5C)\.\.(?:\/|$)/;
const HEX = "0123456789ABCDEF";

/** One listener's way with request paths, built from its `paths` options. */
export class RequestPaths {
  /** Whether the server receives the normalized path (else the path as received). */
  readonly forwardNormalized: boolean;
  /** Whether routes compare paths without regard to case (their own paths then lower-cased too). */
  readonly caseInsensitive: boolean;
  readonly #merge: boolean;
  readonly #ignoreParameters: boolean;
  readonly #slow: RegExp;

  constructor(options: PathsConfig) {
    this.#merge = options.merge_slashes;
    this.#ignoreParameters = options.ignore_path_parameters;
    this.forwardNormalized = options.forward === "normalized";
    this.caseInsensitive = options.case_insensitive;
    this.#slow = options.merge_slashes ? SLOW_WITH_MERGE : SLOW_WITHOUT_MERGE;
  }

  /**
   * `raw` (a path without its query) normalized, or undefined when it must be refused (400): a
   * `..` segment behind an encoded slash. Returns `raw` itself when nothing changes (the usual case,
   * one regular expression test).
   */
  normalize(raw: string): string | undefined {
    if (!this.#slow.test(raw) || raw[0] !== "/") return raw;
    const decoded = raw.includes("%") ? decodeUnreserved(raw) : raw;
    if (decoded.includes("..") && decoded.includes("%") && HIDDEN_DOT_DOT.test(decoded)) return undefined;
    return resolveSegments(decoded.includes("\\") ? decoded.replaceAll("\\", "/") : decoded, this.#merge);
  }

  /** The path routes see, from a `normalize`d one: without path parameters, lower case if so set. */
  forRouting(normalized: string): string {
    let path = normalized;
    if (this.#ignoreParameters && path.includes(";")) path = resolveSegments(path.replace(/;[^/]*/g, ""), this.#merge);
    return this.caseInsensitive ? path.toLowerCase() : path;
  }
}

/** Percent-encodings of unreserved characters decoded, the others upper-cased; a lone `%` kept. */
function decodeUnreserved(path: string): string {
  let out = "";
  let from = 0;
  for (let at = path.indexOf("%"); at >= 0 && at + 2 < path.length; at = path.indexOf("%", at + 1)) {
    const high = HEX.indexOf(path[at + 1]!.toUpperCase());
    const low = HEX.indexOf(path[at + 2]!.toUpperCase());
    if (high < 0 || low < 0) continue;
    const code = high * 16 + low;
    out += path.slice(from, at) + (isUnreserved(code) ? String.fromCharCode(code) : `%${HEX[high]}${HEX[low]}`);
    from = at + 3;
  }
  return from === 0 ? path : out + path.slice(from);
}

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~"
function isUnreserved(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) ||
    code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e;
}

/** `path` (starting with `/`) with dot segments resolved and, if `merge`, empty segments dropped. */
function resolveSegments(path: string, merge: boolean): string {
  const segments = path.slice(1).split("/");
  const out: string[] = [];
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const segment = segments[i]!;
    if (segment === "..") {
      // Merged slashes: `..` climbs over a real segment, not over the empty ones being dropped.
      out.pop();
      if (i === last) out.push("");
    } else if (segment === ".") {
      if (i === last) out.push("");
    } else if (segment === "" && merge && i !== last) {
      continue;
    } else {
      out.push(segment);
    }
  }
  return `/${out.join("/")}`;
}
