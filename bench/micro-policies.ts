/**
 * The policy path alone, without sockets or the forwarder: a request head parsed by the codec, the
 * three policies of `l7-full-policies-1k` (security headers, an allow list, a rate limit; from
 * bench/configs/inproc-full-policies.yaml) around a "forward" that parses a canned nginx answer and
 * appends the sticky cookie, then the head the own server writes. Against the same without the
 * policies, in alternating batches on one core. What the policies themselves cost per request, with
 * less noise than the paired wrk runs of bench/ab.ts (which add the kernel and the runtime's sockets).
 *
 *   taskset -c 1 node_modules/.bin/bun bench/micro-policies.ts [--rounds 6] [--batch 300000] [--always]
 *
 * `--always`: the rate limit with `headers: always` (RateLimit fields on every answer).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfigText } from "../src/config/load.ts";
import { LightResponse } from "../src/http/message.ts";
import { headerLines } from "../src/http1/header-list.ts";
import { parseRequestHead } from "../src/http1/request-head.ts";
import { parseHead } from "../src/http1/response-parser.ts";
import { handleWithPolicy, type PolicyExchange } from "../src/listener/http-policy.ts";
import { PolicyMetrics } from "../src/observe/policy-metrics.ts";
import { compileListenerPolicies } from "../src/policy/compile.ts";
import { bucketLimitOf } from "../src/policy/rate-limit.ts";
import { LocalBuckets } from "../src/policy/token-bucket.ts";
import type { ListenerConfig } from "../src/config/schema.ts";
import { CidrSet } from "../src/util/cidr.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "6" }, batch: { type: "string", default: "300000" }, always: { type: "boolean", default: false } } });
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);

let text = readFileSync(join(import.meta.dir, "configs/inproc-full-policies.yaml"), "utf8");
if (values.always) text = text.replace(/rate_limit: \{ ([^}]*) \}/, "rate_limit: { $1, headers: always }");
const config = loadConfigText(text, "inproc-full-policies.yaml", {});
if (values.always && !text.includes("headers: always")) throw new Error("bench/configs/inproc-full-policies.yaml: no rate_limit to set headers: always on");
const listener = config.listeners[0] as ListenerConfig;
const policies = compileListenerPolicies(config, listener, { metrics: new PolicyMetrics(), buckets: (_id, limit) => new LocalBuckets(bucketLimitOf(limit)) });
const policy = policies?.[listener.routes.length - 1];
if (policy === undefined) throw new Error("bench/configs/inproc-full-policies.yaml: its last route has no policies");

// Heads as the codec hands them over: the request line and fields, each line ended by CRLF, no blank line.
const REQUEST = "GET /1k HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk/4.2.0\r\nAccept: */*\r\n";
const ANSWER = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 08:20:47 GMT\r\nContent-Type: application/octet-stream\r\n" +
  'Content-Length: 1024\r\nLast-Modified: Thu, 26 Nov 2026 08:20:47 GMT\r\nConnection: keep-alive\r\nETag: "6565-400"\r\nAccept-Ranges: bytes\r\n';
const BODY = new Uint8Array(1024);
/** The names the response writer sets itself (http1/response-writer.ts). */
const OWN = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);
const NO_TRUSTED = new CidrSet([]);
let sink = 0;

function forward(): LightResponse {
  const head = parseHead(ANSWER, false)!;
  const response = new LightResponse(head.status, head.statusText, head.headers, BODY);
  response.headers.append("set-cookie", "tenbin_srv=s0.signature");
  return response;
}

function exchange(withPolicies: boolean): void {
  const head = parseRequestHead(REQUEST);
  const req = { method: head.method, url: "http://127.0.0.1:8080/1k", headers: head.fields, body: null, signal: new AbortController().signal, arrayBuffer: () => Promise.resolve(new ArrayBuffer(0)), pathAndQuery: head.target, takesLight: true };
  const ex: PolicyExchange = { req, clientIp: "127.0.0.1", pathAndQuery: head.target, proto: "http", trusted: false, requestId: "r", maxBody: 1e9, server: undefined, attempts: 0, policy: undefined };
  const answer = (withPolicies ? handleWithPolicy(policy!, ex, NO_TRUSTED, forward) : forward()) as LightResponse;
  const headers = answer.headers;
  sink += headerLines(headers, OWN).length + (headers.get("content-length")?.length ?? 0) + (headers.has("date") ? 1 : 0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const times: Record<"plain" | "policies", number[]> = { plain: [], policies: [] };
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const withPolicies of round % 2 === 0 ? [false, true] : [true, false]) {
    const started = performance.now();
    for (let i = 0; i < BATCH; i++) exchange(withPolicies);
    // The first round warms the JIT up and is not counted.
    if (round > 0) times[withPolicies ? "policies" : "plain"].push(((performance.now() - started) * 1000) / BATCH);
  }
}
const plain = median(times.plain);
const withPolicies = median(times.policies);
console.log(`plain    ${plain.toFixed(3)} µs per request (median of ${ROUNDS} batches of ${BATCH})`);
console.log(`policies ${withPolicies.toFixed(3)} µs per request: the three policies cost ${(withPolicies - plain).toFixed(3)} µs`);
if (sink === 0) throw new Error("nothing was written");
