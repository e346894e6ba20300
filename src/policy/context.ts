/**
 * One request as the policy steps see it: the facts placeholders read, the path that goes to the
 * server (rewritten by path steps) and the request's headers, copied only when a step edits them
 * and the runtime's header set cannot be edited in place (Deno's request headers are immutable).
 */
import type { FieldBlock } from "../http1/header-list.ts";
import type { HeaderMap, ProxyRequest } from "../runtime/types.ts";

/** What the handler knows of a request when its route's policies run. */
export interface PolicyRequestFacts {
  req: ProxyRequest;
  /** The client address after trusted proxies (X-Forwarded-For) and PROXY headers. */
  clientIp: string;
  pathAndQuery: string;
  proto: "http" | "https";
  requestId: string;
}

/** The per-request state of a route's policy steps. */
export class PolicyContext {
  readonly clientIp: string;
  readonly scheme: "http" | "https";
  readonly requestId: string;
  readonly method: string;
  /** The request as it goes to the server: the client's, or one with an edited header copy. */
  req: ProxyRequest;
  /** The policy that answered, for the access log. */
  answeredBy: string | undefined;
  /**
   * The `RateLimit-Policy` field (made once per limit) and the `RateLimit` value of each rate limit
   * the request passed, for the answer (rate-limit.ts); undefined on routes without one.
   */
  rateLimits: [FieldBlock, string][] | undefined;
  readonly #pathRegex: RegExp | undefined;
  /** The client's path and query; path and query are split from it only when a step reads them. */
  readonly #clientPathAndQuery: string;
  #path: string | undefined;
  #query: string | undefined;
  #hostHeader: string | undefined;
  #groups: RegExpExecArray | null | undefined;
  #ownHeaders = false;

  constructor(facts: PolicyRequestFacts, pathRegex: RegExp | undefined) {
    this.req = facts.req;
    this.clientIp = facts.clientIp;
    this.scheme = facts.proto;
    this.requestId = facts.requestId;
    this.method = facts.req.method;
    this.#clientPathAndQuery = facts.pathAndQuery;
    this.#pathRegex = pathRegex;
    this.answeredBy = undefined;
    this.rateLimits = undefined;
  }

  /** The Host header as the client sent it (may carry a port); read when first needed. */
  get hostHeader(): string {
    return (this.#hostHeader ??= this.req.headers.get("host") ?? "");
  }

  /** The Host without its port (an IPv6 literal keeps its brackets). */
  get hostname(): string {
    const host = this.hostHeader;
    const colon = host.lastIndexOf(":");
    return colon < 0 || host.endsWith("]") ? host : host.slice(0, colon);
  }

  /** The path sent to the server (raw, without the query); path steps change it. */
  get path(): string {
    return (this.#path ??= this.#clientPath());
  }

  set path(path: string) {
    this.#path = path;
  }

  /** The query without `?`, "" when there is none. */
  get query(): string {
    if (this.#query === undefined) {
      const q = this.#clientPathAndQuery.indexOf("?");
      this.#query = q < 0 ? "" : this.#clientPathAndQuery.slice(q + 1);
    }
    return this.#query;
  }

  #clientPath(): string {
    const q = this.#clientPathAndQuery.indexOf("?");
    return q < 0 ? this.#clientPathAndQuery : this.#clientPathAndQuery.slice(0, q);
  }

  /** The request's headers (read-only use). */
  get headers(): HeaderMap {
    return this.req.headers;
  }

  /** The groups of the route's path regex on the client's path (null without one or without a match). */
  pathGroups(): RegExpExecArray | null {
    if (this.#groups === undefined) this.#groups = this.#pathRegex ? this.#pathRegex.exec(this.#clientPath()) : null;
    return this.#groups;
  }

  /** The path and query that go to the server (the client's, as it came, unless a step changed the path). */
  get pathAndQuery(): string {
    if (this.#path === undefined) return this.#clientPathAndQuery;
    return this.query === "" ? this.#path : `${this.#path}?${this.query}`;
  }

  /**
   * Edits the request headers: in place where the runtime allows it (the own server's HeaderList,
   * Bun's Request), else on a copy that the request to the server then carries (Deno's request
   * headers throw a TypeError on the first change, before anything changed).
   */
  editHeaders(edit: (headers: HeaderMap) => void): void {
    // `{host}` and `{hostport}` are the client's Host, whatever a step sets: read it before the first edit.
    this.#hostHeader ??= this.req.headers.get("host") ?? "";
    if (!this.#ownHeaders) {
      try {
        edit(this.req.headers);
        return;
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
      this.#copyHeaders();
    }
    edit(this.req.headers);
  }

  #copyHeaders(): void {
    this.#ownHeaders = true;
    const original = this.req;
    const headers = new Headers();
    original.headers.forEach((value, name) => headers.append(name, value));
    this.req = {
      method: original.method,
      url: original.url,
      headers,
      body: original.body,
      signal: original.signal,
      arrayBuffer: () => original.arrayBuffer(),
      ...(original.pathAndQuery === undefined ? {} : { pathAndQuery: original.pathAndQuery }),
      ...(original.takesLight === undefined ? {} : { takesLight: original.takesLight }),
    };
  }
}
