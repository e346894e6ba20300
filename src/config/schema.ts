/**
 * The one zod schema of tenbin's YAML file. Every default lives here, so `tenbin schema` documents it
 * and `config/schema.json` is generated from it. Durations become milliseconds, sizes bytes, addresses
 * `{ host, port }` — the rest of the program only sees the parsed `Config`.
 */
import { z } from "zod";
import { parseAddress, parseDuration, parseSize, SIZE_UNITS_NOTE } from "./units.ts";
import { httpMaxConns, SERVER_RECEIVE_BUFFER_NOTE } from "./schema-pressure.ts";
import { policiesSchema, routePolicyKeys } from "./policy-schema.ts";
import { tcpRoutesSchema } from "./schema-tcp-routes.ts";
import { acmeSchema } from "./schema-acme.ts";
import { pathsSchema } from "./schema-paths.ts";

// A config is parsed once per start or reload: zod's JIT (code generated with `new Function` for each
// object schema on its first parse) costs that one parse more than it saves (~10 ms of a start,
// bench/startup.ts). Only speed differs; the results and messages are the same.
z.config({ jitless: true });

/** A duration string (`250ms`, `2s`, `1m`, `1h`) parsed to milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `bad duration "${text}"; expected a number with a unit such as 250ms, 2s, 1m or 1h` });
    return z.NEVER;
  }
  return ms;
});

/** A size string (`512`, `64KB`, `10MB`, `1GiB`) parsed to bytes. */
export const size = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === "number" ? value : parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: "custom", message: `bad size "${String(value)}"; expected bytes or a number with a unit such as 64KB, 10MB or 1GiB (${SIZE_UNITS_NOTE})` });
    return z.NEVER;
  }
  return bytes;
});

/** A `host:port` address. */
export const address = z.string().transform((text, ctx) => {
  const addr = parseAddress(text);
  if (!addr) {
    ctx.addIssue({ code: "custom", message: `bad address "${text}"; expected host:port such as 127.0.0.1:8080, [::1]:8080 or :8080` });
    return z.NEVER;
  }
  return addr;
});

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-fA-F:]+(\/\d{1,3})?)$/;
const cidr = z.string().regex(CIDR, { message: "expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128" });

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
  message: "expected a name of letters, digits, '_', '.' or '-'",
});

/** One way to compare a string: exact, regular expression, or only present. */
const stringMatch = z.union([
  z.string(),
  z.strictObject({ exact: z.string() }),
  z.strictObject({ regex: z.string() }),
  z.strictObject({ present: z.boolean() }),
]);

const pathMatch = z.union([
  z.string().describe("A path prefix, such as /api/"),
  z.strictObject({ prefix: z.string() }),
  z.strictObject({ exact: z.string() }),
  z.strictObject({ regex: z.string() }),
]);

const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

/** What a request must look like for a route to take it. Every given condition must hold. */
export const routeMatchSchema = z.strictObject({
  host: oneOrMany(z.string()).optional().describe("Host names (exact or *.example.com), case-insensitive, port ignored"),
  path: pathMatch.optional().describe("A prefix string, or { prefix | exact | regex }"),
  method: oneOrMany(z.string()).optional().describe("HTTP methods, such as GET or [GET, HEAD]"),
  headers: z.record(z.string(), stringMatch).optional().describe("Header name → value, { exact | regex | present }"),
  query: z.record(z.string(), stringMatch).optional().describe("Query parameter → value, { exact | regex | present }"),
  cookie: z.record(z.string(), stringMatch).optional().describe("Cookie name → value, { exact | regex | present }"),
});

export const routeSchema = z.strictObject({
  name: name.optional().describe("Shown by `tenbin route` and in metrics; defaults to the route's position"),
  match: routeMatchSchema.optional().describe("Without match, the route takes every request (the default route)"),
  pool: name.optional().describe("The pool that serves the route; a route whose policies redirect or respond needs none"),
  ...routePolicyKeys,
});

/** TLS towards https:// servers; a server's own section overrides its pool's, key by key. */
const upstreamTlsSchema = z.strictObject({
  ca_file: z.string().min(1).optional().describe("PEM file of the CA certificates that verify the servers (for a private CA); default the system's"),
  server_name: z.string().min(1).optional().describe("Name sent as SNI and checked against the server's certificate; default the URL's host"),
  insecure_skip_verify: z.boolean().optional().describe("Accept any server certificate (default false; warned about at start). For tests only"),
});

const serverSchema = z.strictObject({
  url: z.string().describe("http://host:port (or https://) for HTTP pools, tcp://host:port or udp://host:port for L4 pools"),
  name: name.optional().describe("Defaults to host:port"),
  weight: z.number().int().min(0).max(1000).default(1).describe("Relative share; 0 takes no new traffic"),
  max_conns: z.number().int().min(0).default(0).describe("In-flight requests (or L4 connections) allowed at once; 0 = unlimited"),
  backup: z.boolean().default(false).describe("Used only when no primary server can serve"),
  drain: z.boolean().default(false).describe("Finish in-flight requests but take no new ones"),
  tls: upstreamTlsSchema.optional().describe("TLS towards this https:// server; overrides the pool's tls key by key"),
});

const cookieStickySchema = z.strictObject({
  name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: "expected a cookie name (a token)" }).default("tenbin_srv"),
  key: z.string().optional().describe("HMAC key signing the cookie; the same key on two tenbin instances routes alike. Without it a random key is made at start (persistence then ends at restart)"),
  max_age: duration.optional().describe("Cookie lifetime; without it a session cookie whose signature still expires after 24h"),
  path: z.string().default("/").describe("Cookie Path attribute"),
  domain: z.string().optional().describe("Cookie Domain attribute; default the request host"),
  http_only: z.boolean().default(true).describe("Hide the cookie from scripts"),
  secure: z.boolean().default(false).describe("Send the cookie over HTTPS only (always on with same_site: none)"),
  same_site: z.enum(["lax", "strict", "none"]).default("lax").describe("Cookie SameSite attribute"),
});

const sourceStickySchema = z.strictObject({
  timeout: duration.prefault("5m").describe("A client keeps its server this long after its last request"),
  netmask: z.number().int().min(0).max(32, { message: "netmask is an IPv4 prefix length, at most 32; group IPv6 clients with netmask6 (e.g. 64)" }).optional().describe("Group IPv4 clients by prefix length (24: a /24 shares a server); default each address alone. IPv6 clients are grouped by netmask6 only"),
  netmask6: z.number().int().min(0).max(128).optional().describe("Group IPv6 clients by prefix length (64: one site's /64 shares a server); default each address alone, as with LVS's persistence netmask for IPv6 (/128)"),
  max_entries: z.number().int().min(1).default(100_000).describe("Bound of the persistence table; the oldest entries go first"),
});

const stickySchema = z.strictObject({
  cookie: z.union([z.string(), cookieStickySchema]).optional().describe("Insert a signed cookie naming the server; a string is the cookie name"),
  source_ip: z.union([z.literal(true), sourceStickySchema]).optional().describe("LVS-style source address persistence"),
});

const statusList = z.array(z.union([z.number().int().min(100).max(599), z.string().regex(/^[1-5]\d\d-[1-5]\d\d$|^[1-5]xx$/, {
  message: "expected a status such as 503, a range such as 500-599 or a class such as 5xx",
})]));

const httpProbeSchema = z.strictObject({
  method: z.string().default("GET").describe("Method of the probe request"),
  path: z.string().default("/").describe("Path (and query) of the probe request"),
  host: z.string().optional().describe("Host header of the probe; default the server's host:port"),
  headers: z.record(z.string(), z.string()).default({}),
  expect_status: statusList.default(["200-399"]).describe("Accepted statuses: numbers, ranges (200-299) or classes (2xx)"),
  expect_body: z.union([z.string(), z.strictObject({ regex: z.string() })]).optional().describe("Substring, or { regex }"),
});

const tcpProbeSchema = z.strictObject({
  send: z.string().optional().describe("Bytes to send after connecting"),
  expect: z.string().optional().describe("Substring the reply must contain"),
});

export const healthSchema = z.strictObject({
  http: httpProbeSchema.optional().describe("HTTP probe: a request whose status (and body) must match"),
  tcp: tcpProbeSchema.optional().describe("TCP probe: connect (and optionally send and expect bytes)"),
  port: z.number().int().min(1).max(65535).optional().describe("Probe this port instead of the server's"),
  interval: duration.prefault("2s").describe("Time between two probes of one server"),
  timeout: duration.prefault("1s").describe("A probe not answered in this time fails"),
  rise: z.number().int().min(1).default(2).describe("Consecutive passes that bring a server up"),
  fall: z.number().int().min(1).default(3).describe("Consecutive failures that take a server down"),
  jitter: z.number().min(0).max(1).default(0.1).describe("Fraction of the interval each probe is spread by"),
  initial: z.enum(["up", "down"]).default("up").describe("State of a server before its first probe"),
});

const outlierSchema = z.strictObject({
  consecutive_failures: z.number().int().min(1).default(5).describe("Connect errors, timeouts or failing statuses in a row that eject a server"),
  failure_statuses: statusList.default([]).describe("Response statuses that count as failures (e.g. [5xx] or [502, 503])"),
  eject_for: duration.prefault("10s").describe("First ejection; doubles on each repeated ejection"),
  max_eject_for: duration.prefault("5m").describe("Longest ejection, however often a server is ejected"),
  max_ejected_percent: z.number().min(0).max(100).default(50).describe("Never eject more than this share of a pool's servers"),
});

const sorrySchema = z.strictObject({
  server: z.string().optional().describe("A URL to forward to when no server can serve"),
  status: z.number().int().min(200).max(599).default(503).describe("Status of the sorry page"),
  body_file: z.string().optional().describe("File whose content is the sorry page, read at start and on each reload; a relative path resolves from the working directory tenbin runs in (as HAProxy and Caddy resolve theirs), and `tenbin check` reports it when it cannot be read"),
  content_type: z.string().default("text/html; charset=utf-8").describe("Content-Type of the sorry page"),
});

const timeoutsSchema = z.strictObject({
  connect: duration.prefault("5s").describe("Longest wait to open a connection to a server (HTTP to http:// servers, TCP listeners, TCP probes); towards https:// servers the runtime's fetch has no connect event, so `response` bounds the connect there"),
  response: duration.prefault("60s").describe("Until the server's response headers arrive"),
  idle: duration.prefault("60s").describe("Longest pause while streaming a body either way"),
});

export const BALANCE_ALGORITHMS = ["round_robin", "least_conn", "least_time", "random_two", "hash", "first"] as const;

export const poolSchema = z.strictObject({
  balance: z.enum(BALANCE_ALGORITHMS).default("round_robin").describe("How a server is chosen: smooth weighted round robin, fewest in flight, fastest (EWMA), power of two random choices, consistent hash (Maglev) or first available"),
  hash_on: z.string().regex(/^(source_ip|uri|(header|cookie|query):.+)$/, {
    message: "expected source_ip, uri, header:NAME, cookie:NAME or query:NAME",
  }).default("source_ip").describe("Key of the hash algorithm"),
  hash_fallback: z.enum(["round_robin", "least_conn", "least_time", "random_two", "first"]).default("round_robin").describe("Algorithm used when the hash key is missing"),
  ewma_decay: duration.prefault("10s").describe("least_time: how fast old response times are forgotten"),
  servers: z.array(serverSchema).min(1, { message: "a pool needs at least one server" }),
  sticky: stickySchema.optional(),
  health: healthSchema.optional(),
  outlier: outlierSchema.optional().describe("Passive outlier detection on the forward path"),
  timeouts: timeoutsSchema.prefault({}),
  host_header: z.string().default("client").describe("`client` keeps the client's Host, `server` uses the server's host:port, anything else is sent as is"),
  retries: z.number().int().min(0).max(10).default(2).describe("Further servers tried after a failure (see retry_on)"),
  retry_on: z.array(z.number().int().min(500).max(599)).default([]).describe("Response statuses that also retry an idempotent request"),
  max_queue: z.number().int().min(0).default(100).describe("Requests waiting when every server is at max_conns"),
  queue_timeout: duration.prefault("5s").describe("Longest wait in the queue; then 503"),
  slow_start: duration.prefault("0s").describe("A server that comes up ramps its weight from ~0 to full over this time"),
  sorry: sorrySchema.optional(),
  tls: upstreamTlsSchema.optional().describe("TLS towards the pool's https:// servers (and their health probes)"),
  send_proxy: z.enum(["v1", "v2"]).optional().describe("TCP pools: open each server connection with a PROXY protocol header (v1 text, v2 binary) naming the client; the servers must expect it"),
});

const accessLogSchema = z.strictObject({
  format: z.enum(["json", "combined"]).default("json").describe("json lines, or Apache combined with tenbin's fields appended as key=\"value\""),
  path: z.string().min(1).default("stdout").describe("File to append to (reopened on SIGUSR1, for logrotate), or stdout; a relative path resolves from the working directory tenbin runs in (as HAProxy and Caddy resolve theirs), and its directory must exist"),
});

/** The admin plane: API, Prometheus metrics and dashboard on their own listener. */
export const adminSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Run the admin listener"),
  listen: address.prefault("127.0.0.1:9090").describe("host:port of the admin listener; a non-loopback address needs a token"),
  token: z.string().min(1).optional().describe("Bearer token every admin endpoint but /healthz and /readyz requires (use ${TENBIN_ADMIN_TOKEN})"),
});

const certificateSchema = z.strictObject({
  cert: z.string().min(1).describe("PEM file of the certificate, followed by its intermediates"),
  key: z.string().min(1).describe("PEM file of its private key (unencrypted)"),
  hosts: oneOrMany(z.string()).optional().describe("Host names (exact or *.example.com) it is served for; default the DNS names in the certificate"),
});

/** TLS termination on a listener. */
export const listenerTlsSchema = z.strictObject({
  certificates: z.array(certificateSchema).min(1, { message: "tls needs at least one certificate" }).optional()
    .describe("Chosen by the client's SNI; the first is the default for clients without SNI or with an unknown name. Needed unless acme is set"),
  acme: acmeSchema.optional().describe("Get the certificates from an ACME CA (Let's Encrypt by default) and renew them; answered over HTTP-01 on the plain http listeners"),
  // YAML reads an unquoted 1.2 as a number: accept it as the version string.
  min_version: z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.enum(["1.2", "1.3"])).default("1.2")
    .describe("Oldest TLS version accepted: 1.2 or 1.3"),
  watch_interval: duration.prefault("5s").describe("How often the certificate files are checked; a change loads them for new handshakes (SIGHUP does too). 0s: only on SIGHUP"),
});

const hstsSchema = z.strictObject({
  max_age: duration.prefault("365d").describe("How long browsers remember to use https only"),
  include_subdomains: z.boolean().default(false),
  preload: z.boolean().default(false),
});

const redirectHttpsSchema = z.strictObject({
  port: z.number().int().min(1).max(65535).default(443).describe("Port of the https URL (left out of it when 443)"),
  status: z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).default(308),
});

export const listenerSchema = z.strictObject({
  name: name,
  listen: address.describe("host:port to accept on"),
  mode: z.literal("http").default("http").describe("http (the default), tcp or udp; tcp and udp listeners have other keys, listed under listeners[mode=tcp] and listeners[mode=udp]"),
  routes: z.array(routeSchema).default([]).describe("First match wins; at least one unless redirect_https is set"),
  trusted_proxies: z.array(cidr).default([]).describe("Clients whose X-Forwarded-* / Forwarded / X-Request-Id are kept (and, with accept_proxy, whose PROXY header is believed)"),
  accept_proxy: z.boolean().default(false).describe("Every connection starts with a PROXY protocol header (v1 or v2) from one of trusted_proxies; others are closed"),
  max_body: size.prefault("100MB").describe(`Largest request body; more → 413. ${SIZE_UNITS_NOTE}`),
  idle_timeout: duration.prefault("60s").describe("Client keep-alive idle time (at most 255s)"),
  max_conns: httpMaxConns,
  access_log: accessLogSchema.optional().describe("One line per request; off unless given (it costs a little per request)"),
  tls: listenerTlsSchema.optional().describe("Terminate TLS (https) with these certificates"),
  http2: z.boolean().optional().describe("Also speak HTTP/2 (ALPN h2 with tls; prior knowledge without). Default false; follows the runtime's maturity"),
  engine: z.enum(["auto", "runtime", "tenbin"]).default("auto").describe("The HTTP server: `tenbin`, tenbin's HTTP/1.1 server on plain sockets (less CPU per request, Content-Length kept on streamed answers, WebSocket upgrades as a byte tunnel, http:// and https:// servers, no HTTP/2), or `runtime`, the runtime's own (HTTP/2; loses pipelined requests and requests with trailers, docs/engines.md). `auto` picks tenbin unless the listener has http2"),
  redirect_https: z.union([z.boolean(), redirectHttpsSchema]).optional().describe("Answer every request with a redirect to the https URL (308 to port 443 with true); routes are then not needed"),
  hsts: z.union([z.boolean(), hstsSchema]).optional().describe("Send Strict-Transport-Security on tls listeners (true: max_age 365d)"),
  paths: pathsSchema.prefault({}).describe("How request paths are normalized before routing, and which path the server receives (docs/paths.md)"),
});

/** A TCP listener: each connection goes to one server of `pool` and bytes pass both ways untouched. */
export const tcpListenerSchema = z.strictObject({
  name: name,
  listen: address.describe("host:port to accept on"),
  mode: z.literal("tcp").describe("Passes TCP connections through to a pool of tcp:// servers"),
  pool: name.optional().describe("The pool (of tcp:// servers) that takes the connections; pool.timeouts.connect bounds each connect, pool.retries tries further servers. Needed unless routes is set"),
  routes: tcpRoutesSchema.optional().describe("TLS passthrough: the first route whose match fits the ClientHello (sni, alpn) and the client (source) picks the pool; the TLS bytes pass unchanged"),
  sni_timeout: duration.prefault("5s").describe("Routes matching sni or alpn: longest wait for the whole ClientHello; a client silent longer is closed"),
  max_hello: size.prefault("16KiB").describe("Routes matching sni or alpn: largest ClientHello read (record headers included); a larger one is closed"),
  idle_timeout: duration.prefault("15m").describe("A connection with no bytes either way for this long is closed"),
  max_conns: z.number().int().min(0).default(0).describe("Client connections at once; more are closed at accept; 0: no limit of its own (the budget derived from the fd limit, shared with HTTP listeners' max_conns auto, still applies)"),
  accept_proxy: z.boolean().default(false).describe("Every connection starts with a PROXY protocol header (v1 or v2) from one of trusted_proxies; others are closed"),
  trusted_proxies: z.array(cidr).default([]).describe("Upstream balancers allowed to send a PROXY header (accept_proxy)"),
  tls: listenerTlsSchema.optional().describe("Terminate TLS with these certificates (SNI picks one, as on http listeners) and pass the decrypted bytes to the pool as plain TCP"),
});

/** A UDP listener: datagrams of one client address:port form a flow bound to one server of `pool`. */
export const udpListenerSchema = z.strictObject({
  name: name,
  listen: address.describe("host:port to receive on"),
  mode: z.literal("udp").describe("Passes UDP datagrams through to a pool of udp:// servers"),
  pool: name.describe("The pool (of udp:// servers) that takes the flows"),
  idle_timeout: duration.prefault("60s").describe("A flow with no datagram either way for this long is forgotten; the client's next datagram is balanced anew"),
  max_conns: z.number().int().min(1).default(10_000).describe("Flows at once (the flow table's bound); datagrams of further new clients are dropped"),
});

/** Any listener; `mode` (default http) says which. */
export const anyListenerSchema = z.discriminatedUnion("mode", [listenerSchema, tcpListenerSchema, udpListenerSchema]);

export const configSchema = z.strictObject({
  listeners: z.array(anyListenerSchema).min(1, { message: "a config needs at least one listener" }),
  pools: z.record(name, poolSchema),
  policies: policiesSchema,
  shutdown_timeout: duration.prefault("30s").describe("Longest wait for in-flight requests on SIGTERM"),
  server_receive_buffer: z.union([z.literal("auto"), size]).prefault("auto").describe(SERVER_RECEIVE_BUFFER_NOTE),
  admin: adminSchema.prefault({}),
  watch: z.boolean().default(false).describe("Reload when the config file changes (debounced), as on SIGHUP"),
  workers: z.union([z.literal("auto"), z.number().int().min(1).max(64)]).default(1)
    .describe("Processes that serve the HTTP and TCP listeners (sharing each port with reusePort): a number, or auto for one per CPU core. The first process also runs the admin plane, health probes and UDP listeners. Read at start only"),
});

export type Config = z.output<typeof configSchema>;
/** An HTTP listener (the kind with routes). */
export type ListenerConfig = z.output<typeof listenerSchema>;
export type TcpListenerConfig = z.output<typeof tcpListenerSchema>;
export type UdpListenerConfig = z.output<typeof udpListenerSchema>;
/** Any entry of `listeners:`; narrow on `mode`. */
export type AnyListenerConfig = Config["listeners"][number];
export type RouteConfig = ListenerConfig["routes"][number];
export type RouteMatchConfig = NonNullable<RouteConfig["match"]>;
export type PoolConfig = z.output<typeof poolSchema>;
export type ServerConfig = PoolConfig["servers"][number];
export type HealthConfig = z.output<typeof healthSchema>;
export type OutlierConfig = NonNullable<PoolConfig["outlier"]>;
export type StickyConfig = NonNullable<PoolConfig["sticky"]>;
export type BalanceAlgorithm = (typeof BALANCE_ALGORITHMS)[number];
export type StringMatchConfig = z.output<typeof stringMatch>;
export type AdminConfig = Config["admin"];
export type AccessLogConfig = NonNullable<ListenerConfig["access_log"]>;
export type ListenerTlsConfig = z.output<typeof listenerTlsSchema>;
export type UpstreamTlsConfig = NonNullable<PoolConfig["tls"]>;
