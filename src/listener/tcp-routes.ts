/**
 * The compiled `routes` of a tcp listener: which pool takes a connection, from the ClientHello's
 * server name and ALPN protocols and the client's address. First match in file order wins; the
 * listener's `pool` (or a route without match) takes the rest.
 */
import type { TcpRouteConfig } from "../config/schema-tcp-routes.ts";
import type { Pool } from "../pool/pool.ts";
import type { ClientHelloFacts } from "../tls/client-hello.ts";
import { CidrSet } from "../util/cidr.ts";

interface CompiledTcpRoute {
  name: string;
  pool: Pool | undefined;
  exact: ReadonlySet<string> | undefined;
  /** `*.example.com` kept as `.example.com`: one or more labels before it. */
  suffixes: readonly string[];
  alpn: ReadonlySet<string> | undefined;
  source: CidrSet | undefined;
}

/** The route a connection took: its name (for logs) and pool. */
export interface TcpRouteChoice {
  route: string;
  pool: Pool | undefined;
}

/** A tcp listener's routes with their pools resolved. */
export class TcpRoutes {
  readonly #routes: CompiledTcpRoute[];
  readonly #fallback: Pool | undefined;
  /** Some route reads the ClientHello: the listener must wait for it before picking. */
  readonly needsHello: boolean;

  constructor(routes: readonly TcpRouteConfig[], pools: ReadonlyMap<string, Pool>, fallback: Pool | undefined) {
    this.#fallback = fallback;
    this.#routes = routes.map((r, i) => {
      const sni = list(r.match?.sni).map((s) => s.toLowerCase().replace(/\.$/, ""));
      return {
        name: r.name ?? `route${i}`,
        pool: pools.get(r.pool),
        exact: r.match?.sni !== undefined ? new Set(sni.filter((s) => !s.startsWith("*."))) : undefined,
        suffixes: sni.filter((s) => s.startsWith("*.")).map((s) => s.slice(1)),
        alpn: r.match?.alpn !== undefined ? new Set(list(r.match.alpn)) : undefined,
        source: r.match?.source !== undefined ? new CidrSet(list(r.match.source)) : undefined,
      };
    });
    this.needsHello = routes.some((r) => r.match?.sni !== undefined || r.match?.alpn !== undefined);
  }

  /** The first route that takes the connection; undefined when none does and there is no default pool. */
  pick(clientIp: string, hello: ClientHelloFacts | undefined): TcpRouteChoice | undefined {
    for (const r of this.#routes) {
      if (r.source && !r.source.has(clientIp)) continue;
      if (r.exact && !matchesName(r.exact, r.suffixes, hello?.serverName)) continue;
      if (r.alpn && !hello?.alpn.some((p) => r.alpn!.has(p))) continue;
      return { route: r.name, pool: r.pool };
    }
    return this.#fallback ? { route: "default", pool: this.#fallback } : undefined;
  }
}

function matchesName(exact: ReadonlySet<string>, suffixes: readonly string[], name: string | undefined): boolean {
  if (name === undefined) return false;
  const host = name.endsWith(".") ? name.slice(0, -1) : name;
  if (exact.has(host)) return true;
  for (const suffix of suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return true;
  return false;
}

function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
