/**
 * `routes` of a `mode: tcp` listener: TLS passthrough routed by the ClientHello (server name, ALPN)
 * and the client's address, as HAProxy's `req.ssl_sni`, nginx's `ssl_preread` and Traefik's
 * `HostSNI` do. Kept apart from schema.ts so the TCP routing keys read in one place.
 */
import { z } from "zod";

const poolName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
  message: "expected a name of letters, digits, '_', '.' or '-'",
});
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-fA-F:]+(\/\d{1,3})?)$/;
const cidr = z.string().regex(CIDR, { message: "expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128" });
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

/** What a connection must show for a tcp route to take it. Every given condition must hold. */
export const tcpRouteMatchSchema = z.strictObject({
  sni: oneOrMany(z.string().min(1)).optional().describe("Server names of the ClientHello (exact or *.example.com), case-insensitive; a hello without SNI matches none"),
  alpn: oneOrMany(z.string().min(1)).optional().describe("ALPN protocols (such as h2, http/1.1, acme-tls/1); the route matches when the client offers any of them"),
  source: oneOrMany(cidr).optional().describe("Client addresses (IP or CIDR); with accept_proxy, the address the PROXY header names"),
});

/** One tcp route. */
export const tcpRouteSchema = z.strictObject({
  name: poolName.optional().describe("Shown in logs; defaults to the route's position"),
  match: tcpRouteMatchSchema.optional().describe("Without match, the route takes every connection (the default route)"),
  pool: poolName.describe("The pool (of tcp:// servers) that takes the connection; the bytes pass unchanged, TLS included"),
});

/** The `routes` list of a tcp listener. */
export const tcpRoutesSchema = z.array(tcpRouteSchema).min(1, { message: "routes needs at least one route; or remove it and set pool" });

export type TcpRouteConfig = z.output<typeof tcpRouteSchema>;
