/**
 * The conditions of a route other than host, compiled once per config: regular expressions are
 * built here and never per request. Paths arrive normalized (router/request-path.ts).
 */
import type { StringMatchConfig } from "../config/schema.ts";
import type { HeaderMap } from "../runtime/types.ts";
import type { RequestPaths } from "./request-path.ts";

const EXACT = 0;
const REGEX = 1;
const PRESENT = 2;
const ABSENT = 3;

/** One `name → string | {exact} | {regex} | {present}` condition on a header, query parameter or cookie. */
export class StringMatcher {
  /** Header names are lower case; query and cookie names are kept as written. */
  readonly name: string;
  readonly #kind: number;
  readonly #value: string;
  readonly #regex: RegExp | undefined;

  constructor(name: string, config: StringMatchConfig) {
    this.name = name;
    this.#value = "";
    this.#regex = undefined;
    if (typeof config === "string") {
      this.#kind = EXACT;
      this.#value = config;
    } else if ("exact" in config) {
      this.#kind = EXACT;
      this.#value = config.exact;
    } else if ("regex" in config) {
      this.#kind = REGEX;
      this.#regex = compileRegex(config.regex);
    } else {
      this.#kind = config.present ? PRESENT : ABSENT;
    }
  }

  /** Whether `value` (null when the header, parameter or cookie is missing) satisfies the condition. */
  test(value: string | null): boolean {
    switch (this.#kind) {
      case EXACT:
        return value === this.#value;
      case REGEX:
        return value !== null && this.#regex!.test(value);
      case PRESENT:
        return value !== null;
      default:
        return value === null;
    }
  }
}

/** The path condition of a route. */
export type PathConfig = string | { prefix: string } | { exact: string } | { regex: string };

const PATH_PREFIX = 0;
const PATH_EXACT = 1;
const PATH_REGEX = 2;

/** A path condition: a plain string prefix (`/api` also takes `/apiary`), an exact path, or a regex. */
export class PathMatcher {
  readonly #kind: number;
  readonly #value: string;
  readonly #regex: RegExp | undefined;

  /**
   * `paths`: the listener's normalization (router/request-path.ts); request paths arrive
   * normalized, so a prefix or exact path is normalized the same way here (`//admin` can match
   * with merged slashes, `/%61dmin` means `/admin`), and lower-cased when matching ignores case.
   */
  constructor(config: PathConfig, paths?: RequestPaths) {
    const caseInsensitive = paths?.caseInsensitive === true;
    this.#value = "";
    this.#regex = undefined;
    if (typeof config === "string") {
      this.#kind = PATH_PREFIX;
      this.#value = config;
    } else if ("prefix" in config) {
      this.#kind = PATH_PREFIX;
      this.#value = config.prefix;
    } else if ("exact" in config) {
      this.#kind = PATH_EXACT;
      this.#value = config.exact;
    } else {
      this.#kind = PATH_REGEX;
      this.#regex = compileRegex(config.regex, caseInsensitive ? "i" : "");
    }
    if (paths !== undefined && this.#kind !== PATH_REGEX) this.#value = paths.forRouting(paths.normalize(this.#value) ?? this.#value);
  }

  /**
   * Whether the raw path (no query) satisfies the condition. A regex is tested against the path
   * alone and is anchored only as written: `^/v[0-9]+/` must start the path, `/v[0-9]+/` may sit anywhere.
   */
  test(path: string): boolean {
    switch (this.#kind) {
      case PATH_PREFIX:
        return path.startsWith(this.#value);
      case PATH_EXACT:
        return path === this.#value;
      default:
        return this.#regex!.test(path);
    }
  }
}

// Throws a message naming the pattern when it is not a valid JavaScript regular expression.
function compileRegex(source: string, flags = ""): RegExp {
  try {
    // Never `g` or `y`: without them `test` keeps no `lastIndex` state between requests.
    return new RegExp(source, flags);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`bad regex "${source}": ${reason}`);
  }
}

const EMPTY_QUERY = new URLSearchParams();

/**
 * Per-request values that only some routes need: the upper-case method, the parsed query and the
 * parsed Cookie header. Each is computed at most once per request and only when a route asks, so a
 * table without query or cookie conditions never parses either. One instance per route table,
 * `reset` before each match; matching is synchronous, so no two requests share it at once.
 */
export class RequestScratch {
  #method: string | undefined = undefined;
  #query: URLSearchParams | undefined = undefined;
  #cookiesParsed = false;
  // Reused across requests: clearing a Map is cheaper than making one.
  readonly #cookies = new Map<string, string>();

  /** Forgets the previous request. */
  reset(): void {
    this.#method = undefined;
    this.#query = undefined;
    if (this.#cookiesParsed) {
      this.#cookies.clear();
      this.#cookiesParsed = false;
    }
  }

  /** The request method in upper case. */
  method(raw: string): string {
    this.#method ??= raw.toUpperCase();
    return this.#method;
  }

  /** The first value of a query parameter, percent-decoded, or null. */
  queryParam(rawQuery: string, name: string): string | null {
    this.#query ??= rawQuery === "" ? EMPTY_QUERY : new URLSearchParams(rawQuery);
    return this.#query.get(name);
  }

  /** The value of a cookie (the first one of that name), or null. */
  cookie(headers: HeaderMap, name: string): string | null {
    if (!this.#cookiesParsed) {
      const header = headers.get("cookie");
      if (header !== null) parseCookieHeader(header, this.#cookies);
      this.#cookiesParsed = true;
    }
    return this.#cookies.get(name) ?? null;
  }
}

/**
 * Adds the `name=value` pairs of a Cookie header to `into`, first one of a name winning (browsers
 * send the most specific cookie first). Values stay as sent, except surrounding double quotes
 * (RFC 6265 allows them) are removed; no percent-decoding, since cookie values are opaque.
 */
export function parseCookieHeader(header: string, into: Map<string, string>): void {
  const length = header.length;
  let start = 0;
  while (start < length) {
    let end = header.indexOf(";", start);
    if (end < 0) end = length;
    const equals = header.indexOf("=", start);
    if (equals > start && equals < end) {
      const name = header.slice(start, equals).trim();
      if (name !== "" && !into.has(name)) {
        let value = header.slice(equals + 1, end).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        into.set(name, value);
      }
    }
    start = end + 1;
  }
}
