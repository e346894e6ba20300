/**
 * The two kinds of compiled policy step: one that runs on the request (and may answer it instead of
 * the pool), and one that runs on the answer on its way back to the client.
 */
import type { PolicyStats } from "../observe/policy-metrics.ts";
import type { HeaderMap, ProxyResponse } from "../runtime/types.ts";
import type { PolicyContext } from "./context.ts";

/** What a request step gives: an answer (the pool is then not asked), or undefined to go on. */
export type RequestStepResult = ProxyResponse | undefined;

/** A step on the request. */
export interface RequestStep {
  /** The policy set it came from (`route` for a route's inline keys). */
  readonly policy: string;
  /** The policy key, such as `rate_limit`. */
  readonly kind: string;
  readonly stats: PolicyStats;
  run(ctx: PolicyContext): RequestStepResult | Promise<RequestStepResult>;
  /** What it would do to this request, for `tenbin route` (no side effects, nothing counted). */
  explain(ctx: PolicyContext): string;
  /**
   * The status it would answer this request with, for `tenbin route`: set only when it surely
   * answers without a check `tenbin route` does not make (a password, a bucket's state).
   */
  answers?(ctx: PolicyContext): number | undefined;
}

/** A step on the answer. */
export interface ResponseStep {
  readonly policy: string;
  readonly kind: string;
  readonly stats: PolicyStats;
  run(ctx: PolicyContext, response: ProxyResponse, request: RequestFactsForResponse): ProxyResponse;
  explain(): string;
}

/** What a response step may read of the request (the client's headers, before request edits). */
export interface RequestFactsForResponse {
  acceptEncoding: string | null;
  method: string;
}

/** A small answer tenbin makes itself, its length declared (the own server then frames it so). */
export function plainAnswer(status: number, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string>, requestId: string): Response {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return new Response(bytes.byteLength === 0 && (status === 204 || status === 304) ? null : bytes, {
    status,
    headers: { ...headers, "x-request-id": requestId, "content-length": String(bytes.byteLength) },
  });
}

/**
 * `response` with `edit(headers, arg)` applied to its headers: in place where the runtime lets them
 * change, else on a copy (a fetch Response's headers are immutable on Deno and throw a TypeError on
 * the first change, before anything changed). `edit` must only change headers, so it can run twice.
 * `arg` rather than a closure: steps pass a function made once and the request's state.
 */
export function withEditedHeaders<T>(response: ProxyResponse, edit: (headers: HeaderMap, arg: T) => void, arg: T): ProxyResponse {
  try {
    edit(response.headers, arg);
    return response;
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
  const headers = new Headers();
  response.headers.forEach((value, name) => headers.append(name, value));
  edit(headers, arg);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
