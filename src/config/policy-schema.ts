/**
 * Edge policies in the config: what a route does to a request before the pool and to the answer
 * after it (Traefik's middlewares, Caddy's directives). The same keys form a named, reusable policy
 * set under the top-level `policies:` map and sit inline on a route for one-off use.
 */
import { z } from "zod";
import { parseDuration, parseSize } from "./units.ts";

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: `bad duration "${text}"; expected a number with a unit such as 250ms, 2s, 1m or 1h` });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  const bytes = typeof value === "number" ? value : parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: "custom", message: `bad size "${String(value)}"; expected bytes or a number with a unit such as 1KB or 64KB` });
    return z.NEVER;
  }
  return bytes;
});

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-fA-F:.]+(\/\d{1,3})?)$/;
const cidr = z.string().regex(CIDR, { message: "expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128" });
const headerName = z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: "expected a header name (a token such as X-Frame-Options)" });
const policyName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: "expected a name of letters, digits, '_', '.' or '-'" });

const headerEditsSchema = z.strictObject({
  set: z.record(headerName, z.string()).default({}).describe("Headers to replace (or add when missing); values may hold placeholders such as {client_ip}, {host}, {scheme}, {request_id}, {path}, {re.1}"),
  add: z.record(headerName, z.string()).default({}).describe("Headers to append beside any of the same name; placeholders as in set"),
  remove: z.array(headerName).default([]).describe("Headers to remove (names, case-insensitive)"),
});

const redirectSchema = z.strictObject({
  to: z.string().min(1).describe("Target URL or path; placeholders such as https://example.com{path} or https://{host}/new/{re.1}"),
  status: z.union([z.literal(301), z.literal(302), z.literal(307), z.literal(308)]).default(302).describe("301 or 308 (permanent), 302 or 307 (temporary); 307 and 308 keep the method and body"),
  keep_query: z.boolean().default(true).describe("Append the request's query to the target (after any query the target has)"),
});

const respondSchema = z.strictObject({
  status: z.number().int().min(200).max(599).default(200).describe("Status of the answer"),
  body: z.string().optional().describe("Text of the answer (placeholders allowed); default empty"),
  body_file: z.string().min(1).optional().describe("File whose content is the answer, read at start and on each reload (relative to the working directory)"),
  content_type: z.string().default("text/plain; charset=utf-8").describe("Content-Type of the answer"),
});

const basicAuthSchema = z.strictObject({
  realm: z.string().regex(/^[^"\\]*$/, { message: "expected a realm without quotes or backslashes" }).default("restricted").describe("Realm named in WWW-Authenticate"),
  users: z.record(z.string().regex(/^[^:]+$/, { message: "expected a user name without ':'" }), z.string().regex(/^\$(2[abxy]?\$\d\d\$|argon2(id|i|d)\$)/, {
    message: "expected a bcrypt ($2b$...) or argon2 ($argon2id$...) hash; make one with `tenbin hash-password`",
  })).refine((users) => Object.keys(users).length > 0, { message: "basic_auth needs at least one user" })
    .describe("User name → password hash (bcrypt or argon2 only; `tenbin hash-password` makes one)"),
  forward_credentials: z.boolean().default(false).describe("Send the Authorization header on to the server (by default it is removed once checked)"),
  cache_for: duration.prefault("5m").describe("How long a checked user:password pair is remembered, so a client does not pay a slow hash check per request (bounded table)"),
});

const redisStoreSchema = z.strictObject({
  url: z.string().regex(/^redis:\/\/([^@/]+@)?[^/:]+:\d+\/?\d*$/, { message: "expected redis://host:port (or redis://:password@host:port/db)" }).describe("Redis shared by every tenbin instance that should share the limit"),
  prefix: z.string().default("tenbin:rl:").describe("Prefix of the keys tenbin writes"),
  timeout: duration.prefault("100ms").describe("A Redis answer not back in this time counts the request locally"),
});

const rateLimitSchema = z.strictObject({
  rate: z.number().positive().describe("Requests allowed per `per` on average (the bucket's refill)"),
  per: duration.prefault("1s").describe("The period of `rate`, such as 1s or 1m"),
  burst: z.number().int().min(1).optional().describe("Requests allowed at once (the bucket's size); default rate rounded up"),
  key: z.string().regex(/^(client_ip|(header|cookie):.+)$/, { message: "expected client_ip, header:NAME or cookie:NAME" }).default("client_ip")
    .describe("Who a bucket belongs to: the client address (after trusted_proxies and PROXY), a header or a cookie; requests without it share one bucket"),
  max_keys: z.number().int().min(1).default(100_000).describe("Bound of the bucket table; a bucket not used lately goes first"),
  headers: z.enum(["refused", "always"]).default("refused")
    .describe("Where the RateLimit-Policy and RateLimit fields go: on the 429 only (refused; HAProxy, nginx, Traefik and Envoy send nothing on passing answers), or on every answer of the route (always), so clients can pace themselves"),
  redis: redisStoreSchema.optional().describe("Keep the buckets in Redis so several tenbin instances share one limit; while Redis is down each process counts locally"),
});

/** Types compressed by default: text and the structured text formats. */
export const COMPRESSIBLE_TYPES = [
  "text/*", "application/json", "application/javascript", "application/xml", "application/wasm",
  "application/manifest+json", "application/ld+json", "application/rss+xml", "application/atom+xml",
  "image/svg+xml", "application/x-ndjson",
] as const;

const compressSchema = z.strictObject({
  encodings: z.array(z.enum(["zstd", "br", "gzip"])).min(1).default(["br", "gzip"]).describe("Encodings offered, in order of preference when the client accepts several (zstd only where the runtime has it)"),
  min_size: size.prefault("1KB").describe("Answers known to be shorter are sent as they are"),
  types: z.array(z.string()).default([...COMPRESSIBLE_TYPES]).describe("Content types compressed (type/* allowed)"),
  level: z.number().int().min(1).max(11).optional().describe("Compression level; default gzip 6, brotli 4, zstd 3 (fast enough for streaming)"),
});

/** The keys of one policy set; every key is optional. */
export const policyKeys = {
  request_headers: headerEditsSchema.optional().describe("Edit the request's headers before it goes to the server"),
  response_headers: headerEditsSchema.optional().describe("Edit the answer's headers before it goes to the client (also tenbin's own answers)"),
  strip_prefix: z.string().regex(/^\//, { message: "expected a path prefix starting with /" }).optional().describe("Remove this prefix from the path sent to the server (/api/users → /users)"),
  add_prefix: z.string().regex(/^\//, { message: "expected a path prefix starting with /" }).optional().describe("Put this prefix before the path sent to the server"),
  rewrite: z.strictObject({
    regex: z.string().describe("JavaScript regular expression tested against the path (without the query)"),
    replace: z.string().describe("Replacement; $1 or $<name> name groups"),
  }).optional().describe("Replace the path sent to the server by regex"),
  redirect: redirectSchema.optional().describe("Answer with a redirect instead of forwarding"),
  respond: respondSchema.optional().describe("Answer directly (robots.txt, maintenance page) instead of forwarding"),
  allow: z.array(cidr).optional().describe("Only clients in these CIDRs pass (others get 403)"),
  deny: z.array(cidr).optional().describe("Clients in these CIDRs get 403 (checked before allow)"),
  basic_auth: basicAuthSchema.optional().describe("HTTP basic authentication: 401 with WWW-Authenticate without valid credentials"),
  rate_limit: rateLimitSchema.optional().describe("Token bucket per key: 429 with Retry-After and RateLimit headers when empty"),
  compress: z.union([z.boolean(), compressSchema]).optional().describe("Compress answers the client accepts compressed (true: gzip and brotli of text types of 1KB or more)"),
};

/** One named policy set of the top-level `policies:` map. */
export const policySetSchema = z.strictObject(policyKeys);

/** What a route adds: the policy sets it uses by name, in order; its inline keys run after them. */
export const routePolicyKeys = {
  policies: z.array(policyName).optional().describe("Named policy sets (from the top-level policies map) applied in this order, before the route's own policy keys; default none"),
  ...policyKeys,
};

/** The top-level map of named policy sets. */
export const policiesSchema = z.record(policyName, policySetSchema).optional()
  .describe("Named, reusable policy sets (as Traefik middlewares) that routes list under policies; default none");

/** One policy set as parsed (also the policy keys of a route). */
export type PolicySetConfig = z.output<typeof policySetSchema>;
/** `request_headers` / `response_headers`. */
export type HeaderEditsConfig = z.output<typeof headerEditsSchema>;
/** `rate_limit`, durations in milliseconds. */
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
/** `compress` in its object form (`compressConfigOf` turns `true` into one). */
export type CompressConfig = z.output<typeof compressSchema>;
/** `basic_auth`. */
export type BasicAuthConfig = z.output<typeof basicAuthSchema>;
/** The policy keys a set may hold (also inline on a route). */
export const POLICY_KEYS = Object.keys(policyKeys) as (keyof PolicySetConfig)[];
