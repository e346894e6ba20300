/**
 * The HTTP probe: one request with the configured method, path and headers; passes when the status is
 * expected and, if asked, the first 64 KB of the body contain a substring or match a regex.
 */
import type { HealthConfig } from "../../config/schema.ts";
import type { RuntimeFetch, UpstreamTls } from "../../runtime/types.ts";
import { compileStatusList } from "./status-match.ts";
import type { ProbeFn } from "./probe-target.ts";

/** The `health.http` section, with every default applied. */
export type HttpProbeConfig = NonNullable<HealthConfig["http"]>;

/** What a pool without `health.http` is probed with: `GET /` expecting 200-399. */
export const DEFAULT_HTTP_PROBE: HttpProbeConfig = {
  method: "GET",
  path: "/",
  headers: {},
  expect_status: ["200-399"],
};

/** How much of a probe's response body is read for `expect_body`; the rest is never downloaded. */
export const PROBE_BODY_LIMIT = 64 * 1024;

interface BodyCheck {
  test(text: string): boolean;
  failure: string;
}

/** Builds an HTTP probe; throws on an invalid `expect_body.regex`. */
export function createHttpProbe(config: HttpProbeConfig, fetch: RuntimeFetch, tls?: UpstreamTls): ProbeFn {
  const expectStatus = compileStatusList(config.expect_status);
  const body = bodyCheck(config.expect_body);
  // Built once and shared by every probe: fetch only reads init.headers.
  const headers: Record<string, string> = { "user-agent": "tenbin-health", connection: "close" };
  for (const [k, v] of Object.entries(config.headers)) headers[k.toLowerCase()] = v;
  if (config.host !== undefined) headers.host = config.host;
  const method = config.method.toUpperCase();
  const path = config.path.startsWith("/") ? config.path : `/${config.path}`;

  return async (target, signal) => {
    const res = await fetch(target.origin + path, { method, headers, signal }, tls);
    if (!expectStatus(res.status)) {
      discard(res);
      return `status ${res.status} not in ${expectStatus.text}`;
    }
    if (!body) {
      discard(res);
      return undefined;
    }
    const text = await readBounded(res.body, PROBE_BODY_LIMIT);
    return body.test(text) ? undefined : body.failure;
  };
}

function bodyCheck(expect: HttpProbeConfig["expect_body"]): BodyCheck | undefined {
  if (expect === undefined) return undefined;
  if (typeof expect === "string") {
    return { test: (t) => t.includes(expect), failure: `body did not contain ${JSON.stringify(expect)}` };
  }
  let re: RegExp;
  try {
    re = new RegExp(expect.regex);
  } catch (err) {
    throw new Error(`bad expect_body regex "${expect.regex}": ${err instanceof Error ? err.message : String(err)}`);
  }
  return { test: (t) => re.test(t), failure: `body did not match /${expect.regex}/` };
}

// The request says `connection: close`, so dropping the body costs no pooled socket.
function discard(res: Response): void {
  if (res.body && !res.bodyUsed) res.body.cancel().catch(() => {});
}

/** Reads at most `limit` bytes of a body as UTF-8 and cancels the rest. */
export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  try {
    while (bytes < limit) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      const take = Math.min(value.byteLength, limit - bytes);
      text += decoder.decode(take === value.byteLength ? value : value.subarray(0, take), { stream: true });
      bytes += take;
    }
    reader.cancel().catch(() => {});
    return text + decoder.decode();
  } finally {
    reader.releaseLock();
  }
}
