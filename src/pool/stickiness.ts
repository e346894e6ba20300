/**
 * What keeps a client on one server: the signed cookie, the source-address table, and the key of the
 * hash algorithm. Reads request facts, answers with a server (or none) and the cookie to set.
 */
import type { PoolConfig } from "../config/schema.ts";
import type { HeaderMap } from "../runtime/types.ts";
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
  headers: HeaderMap;
  /** Raw path and query, as on the wire. */
  pathAndQuery: string;
  /** Filled by `pinned()` (so `bind()` need not check the signature again): what the cookie said. */
  cookie?: CookieVerdict | undefined;
}

/** What the request's persistence cookie said. */
export interface CookieVerdict {
  /** The server a valid cookie names (undefined: no cookie, forged, tampered, expired, unknown). */
  server: ServerState | undefined;
  /** The cookie is valid but past half its lifetime: send a fresh one so an active client stays. */
  renew: boolean;
}

const NO_COOKIE: CookieVerdict = { server: undefined, renew: false };

interface CookieSetup {
  name: string;
  signer: CookieSigner;
  lifetimeSec: number;
  options: SetCookieOptions;
  byId: Map<string, ServerState>;
}

/**
 * A pool's persistence: which server a request is bound to (`pinned`), what to remember after it was
 * served (`bind`), and the key `hash` balances on (`hashKey`).
 */
export class Stickiness {
  readonly #cookie: CookieSetup | undefined;
  /** The last Set-Cookie value made for each server, and the expiry (Unix seconds) it carries. */
  readonly #lastSet = new WeakMap<ServerState, { expires: number; header: string }>();
  readonly #source: SourceAffinity | undefined;
  readonly #servers: Map<string, ServerState>;
  readonly #primaries: readonly ServerState[];
  readonly #hashOn: { kind: string; name: string } | undefined;
  readonly #clock: Clock;
  readonly #wallMs: () => number;

  /**
   * `clock` times source persistence (monotonic); cookie expiry uses `wallMs` (Unix ms, default
   * `Date.now`) because a cookie outlives the process and is read by the other tenbin of an HA pair.
   */
  constructor(poolName: string, config: PoolConfig, servers: readonly ServerState[], clock: Clock, fallbackKey: string, wallMs: () => number = Date.now) {
    this.#clock = clock;
    this.#wallMs = wallMs;
    this.#servers = new Map(servers.map((s) => [s.key, s]));
    this.#primaries = servers.filter((s) => !s.backup);
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
      const s = source === true ? { timeout: 300_000, netmask: undefined, netmask6: undefined, max_entries: 100_000 } : source;
      // IPv6 clients are grouped by netmask6 alone (default /128): a netmask meant for IPv4 (say
      // 24) would otherwise put a huge IPv6 range behind one server.
      this.#source = new SourceAffinity({ timeoutMs: s.timeout, netmask: s.netmask, netmask6: s.netmask6 ?? 128, maxEntries: s.max_entries, clock });
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

  /**
   * The server the client is bound to, if it can still take it: usable (up, not draining, not
   * ejected, weight > 0) and, for a backup, only while no primary is usable — once the primaries
   * are back, clients pinned during the failover return to them. The cookie wins over the source
   * address. Records the cookie's verdict in `facts.cookie` for `bind`.
   */
  pinned(facts: StickyFacts): ServerState | undefined {
    const now = this.#clock.now();
    if (this.#cookie) {
      const verdict = this.#verdict(facts);
      if (verdict.server && this.#canPin(verdict.server, now)) return verdict.server;
    }
    if (this.#source) {
      const key = this.#source.get(facts.clientIp);
      const server = key === undefined ? undefined : this.#servers.get(key);
      if (server && this.#canPin(server, now)) return server;
    }
    return undefined;
  }

  /**
   * Records that the client was served by `server`; returns the Set-Cookie value to send, or
   * undefined when the client's cookie already validly names that server and is not due for
   * renewal. A forged, tampered, expired or foreign cookie, or one naming another server (down,
   * draining, or left on a retry), is replaced.
   */
  bind(facts: StickyFacts, server: ServerState, _pinned?: ServerState | undefined): string | undefined {
    // `set` refreshes an entry that already names the server (same cost as a touch).
    this.#source?.set(facts.clientIp, server.key);
    const cookie = this.#cookie;
    if (!cookie) return undefined;
    const verdict = facts.cookie ?? this.#verdict(facts);
    if (verdict.server === server && !verdict.renew) return undefined;
    const expires = this.#nowSec() + cookie.lifetimeSec;
    // Within a second every new client of a server gets the same header: made once.
    const last = this.#lastSet.get(server);
    if (last !== undefined && last.expires === expires) return last.header;
    const header = buildSetCookie(cookie.name, cookie.signer.sign(server.key, expires), cookie.options);
    this.#lastSet.set(server, { expires, header });
    return header;
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

  /** Checks the request's cookie once per request; the result is kept in `facts.cookie`. */
  #verdict(facts: StickyFacts): CookieVerdict {
    if (facts.cookie) return facts.cookie;
    const cookie = this.#cookie!;
    const value = readCookie(facts.cookieHeader, cookie.name);
    let verdict = NO_COOKIE;
    if (value !== undefined) {
      const now = this.#nowSec();
      const ok = cookie.signer.verify(value, now);
      const server = ok ? cookie.byId.get(ok.serverId) : undefined;
      if (server) verdict = { server, renew: expiryOf(value) - now < cookie.lifetimeSec / 2 };
    }
    facts.cookie = verdict;
    return verdict;
  }

  #canPin(server: ServerState, now: number): boolean {
    if (!server.isUsable(now)) return false;
    if (!server.backup) return true;
    for (const primary of this.#primaries) if (primary.isUsable(now)) return false;
    return true;
  }

  #nowSec(): number {
    return Math.floor(this.#wallMs() / 1000);
  }
}

/** The expiry (Unix seconds) of a cookie value that `CookieSigner.verify` accepted. */
function expiryOf(value: string): number {
  const first = value.indexOf(".");
  return parseInt(value.slice(first + 1, value.indexOf(".", first + 1)), 36);
}
