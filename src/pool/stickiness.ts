/**
 * What keeps a client on one server: the signed cookie, the source-address table, and the key of the
 * hash algorithm. Reads request facts, answers with a server (or none) and the cookie to set.
 */
import type { PoolConfig } from "../config/schema.ts";
import type { Clock } from "../util/clock.ts";
import { CookieSigner, buildSetCookie, readCookie, type SetCookieOptions } from "./persist/cookie.ts";
import { SourceAffinity } from "./persist/source.ts";
import type { ServerState } from "./server-state.ts";

/** A session cookie's signature still expires, so a stolen value does not pin forever. */
const SESSION_COOKIE_LIFETIME_SEC = 24 * 3600;

/** The request facts persistence and hashing look at. */
export interface StickyFacts {
  clientIp: string;
  cookieHeader: string | null;
  headers: Headers;
  /** Raw path and query, as on the wire. */
  pathAndQuery: string;
}

interface CookieSetup {
  name: string;
  signer: CookieSigner;
  lifetimeSec: number;
  options: SetCookieOptions;
  byId: Map<string, ServerState>;
}

export class Stickiness {
  readonly #cookie: CookieSetup | undefined;
  readonly #source: SourceAffinity | undefined;
  readonly #servers: Map<string, ServerState>;
  readonly #hashOn: { kind: string; name: string } | undefined;

  constructor(poolName: string, config: PoolConfig, servers: readonly ServerState[], clock: Clock, fallbackKey: string) {
    this.#servers = new Map(servers.map((s) => [s.key, s]));
    const cookie = config.sticky?.cookie;
    if (cookie !== undefined) {
      const c = typeof cookie === "string" ? { name: cookie } : cookie;
      const full = typeof cookie === "string" ? undefined : cookie;
      // Pool name in the key material keeps one pool's cookie from pinning in another.
      const signer = new CookieSigner(`${full?.key ?? fallbackKey}\u0000${poolName}`);
      const byId = new Map(servers.map((s) => [signer.serverId(s.key), s]));
      this.#cookie = {
        name: c.name ?? "tenbin_srv",
        signer,
        lifetimeSec: full?.max_age !== undefined ? Math.ceil(full.max_age / 1000) : SESSION_COOKIE_LIFETIME_SEC,
        options: {
          maxAgeSec: full?.max_age !== undefined ? Math.ceil(full.max_age / 1000) : undefined,
          path: full?.path ?? "/",
          domain: full?.domain,
          httpOnly: full?.http_only ?? true,
          secure: full?.secure ?? false,
          sameSite: full?.same_site ?? "lax",
        },
        byId,
      };
    }
    const source = config.sticky?.source_ip;
    if (source !== undefined) {
      const s = source === true ? { timeout: 300_000, netmask: undefined, max_entries: 100_000 } : source;
      this.#source = new SourceAffinity({ timeoutMs: s.timeout, netmask: s.netmask, maxEntries: s.max_entries, clock });
    }
    if (config.balance === "hash" && config.hash_on !== "source_ip") {
      const colon = config.hash_on.indexOf(":");
      this.#hashOn = colon < 0
        ? { kind: config.hash_on, name: "" }
        : { kind: config.hash_on.slice(0, colon), name: config.hash_on.slice(colon + 1) };
    }
  }

  /** Whether the pool uses any persistence (so the proxy only gathers facts when needed). */
  get enabled(): boolean {
    return this.#cookie !== undefined || this.#source !== undefined;
  }

  /** The server the client is bound to, if it is still usable. */
  pinned(facts: StickyFacts): ServerState | undefined {
    if (this.#cookie) {
      const value = readCookie(facts.cookieHeader, this.#cookie.name);
      if (value !== undefined) {
        const ok = this.#cookie.signer.verify(value, Math.floor(Date.now() / 1000));
        const server = ok ? this.#cookie.byId.get(ok.serverId) : undefined;
        if (server && server.isUsable()) return server;
      }
    }
    if (this.#source) {
      const key = this.#source.get(facts.clientIp);
      const server = key === undefined ? undefined : this.#servers.get(key);
      if (server && server.isUsable()) return server;
    }
    return undefined;
  }

  /**
   * Records that the client was served by `server`; returns the Set-Cookie value to send, or
   * undefined when the client's cookie already names that server.
   */
  bind(facts: StickyFacts, server: ServerState, pinned: ServerState | undefined): string | undefined {
    if (this.#source) {
      if (pinned === server) this.#source.touch(facts.clientIp);
      else this.#source.set(facts.clientIp, server.key);
    }
    const cookie = this.#cookie;
    if (!cookie || (pinned === server && readCookie(facts.cookieHeader, cookie.name) !== undefined)) return undefined;
    const value = cookie.signer.sign(server.key, Math.floor(Date.now() / 1000) + cookie.lifetimeSec);
    return buildSetCookie(cookie.name, value, cookie.options);
  }

  /** The key of the hash algorithm (undefined when the request lacks it: the fallback balances). */
  hashKey(facts: StickyFacts): string | undefined {
    const on = this.#hashOn;
    if (!on) return facts.clientIp;
    switch (on.kind) {
      case "uri":
        return facts.pathAndQuery;
      case "header":
        return facts.headers.get(on.name) ?? undefined;
      case "cookie":
        return readCookie(facts.cookieHeader, on.name);
      case "query": {
        const q = facts.pathAndQuery.indexOf("?");
        return q < 0 ? undefined : new URLSearchParams(facts.pathAndQuery.slice(q + 1)).get(on.name) ?? undefined;
      }
      default:
        return undefined;
    }
  }
}
