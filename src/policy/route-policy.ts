/**
 * The policies of one route, compiled once per config load into two short step lists: those on the
 * request (which may answer it instead of the pool) and those on the answer. A route without
 * policies has no `RoutePolicy` at all, so its requests pay nothing.
 */
import type { ProxyRequest, ProxyResponse } from "../runtime/types.ts";
import { PolicyContext, type PolicyRequestFacts } from "./context.ts";
import type { RequestFactsForResponse, RequestStep, ResponseStep } from "./step.ts";

const NO_REQUEST_FACTS: RequestFactsForResponse = Object.freeze({ acceptEncoding: null, method: "" });

/** What the route's forward needs from the policies: the path and request that go to the server. */
export type PolicyForward = (pathAndQuery: string, req: ProxyRequest) => ProxyResponse | Promise<ProxyResponse>;

/** One route's compiled policies. */
export class RoutePolicy {
  /** The policy sets in the order they run (`route` for inline keys). */
  readonly sets: readonly string[];
  readonly request: readonly RequestStep[];
  readonly response: readonly ResponseStep[];
  readonly #pathRegex: RegExp | undefined;
  /** Whether a response step reads the request (compression: Accept-Encoding and the method). */
  readonly #readsRequest: boolean;

  constructor(sets: readonly string[], request: readonly RequestStep[], response: readonly ResponseStep[], pathRegex: RegExp | undefined) {
    this.sets = sets;
    this.request = request;
    this.response = response;
    this.#pathRegex = pathRegex;
    this.#readsRequest = response.some((step) => step.kind === "compress");
  }

  /**
   * Runs the request steps; unless one answers, `forward` asks the pool. The answer then passes the
   * response steps. `onAnswered` learns which policy answered, for the access log.
   */
  handle(facts: PolicyRequestFacts, forward: PolicyForward, onAnswered: (policy: string) => void): ProxyResponse | Promise<ProxyResponse> {
    const ctx = new PolicyContext(facts, this.#pathRegex);
    // Read before request steps edit the headers, and only when a response step reads it.
    const forRequest: RequestFactsForResponse = this.#readsRequest ? { acceptEncoding: facts.req.headers.get("accept-encoding"), method: facts.req.method } : NO_REQUEST_FACTS;
    const steps = this.request;
    for (let i = 0; i < steps.length; i++) {
      const result = steps[i]!.run(ctx);
      if (result instanceof Promise) return result.then((r) => this.#continue(ctx, i + 1, r, forward, onAnswered, forRequest));
      if (result !== undefined) return this.#answer(ctx, result, forRequest, onAnswered);
    }
    return this.#forward(ctx, forward, forRequest);
  }

  async #continue(ctx: PolicyContext, from: number, answered: ProxyResponse | undefined, forward: PolicyForward, onAnswered: (policy: string) => void, forRequest: RequestFactsForResponse): Promise<ProxyResponse> {
    if (answered !== undefined) return this.#answer(ctx, answered, forRequest, onAnswered);
    const steps = this.request;
    for (let i = from; i < steps.length; i++) {
      const result = await steps[i]!.run(ctx);
      if (result !== undefined) return this.#answer(ctx, result, forRequest, onAnswered);
    }
    return this.#forward(ctx, forward, forRequest);
  }

  #answer(ctx: PolicyContext, response: ProxyResponse, forRequest: RequestFactsForResponse, onAnswered: (policy: string) => void): ProxyResponse {
    if (ctx.answeredBy !== undefined) onAnswered(ctx.answeredBy);
    return this.#respond(ctx, response, forRequest);
  }

  #forward(ctx: PolicyContext, forward: PolicyForward, forRequest: RequestFactsForResponse): ProxyResponse | Promise<ProxyResponse> {
    const answer = forward(ctx.pathAndQuery, ctx.req);
    if (this.response.length === 0) return answer;
    return answer instanceof Promise ? answer.then((r) => this.#respond(ctx, r, forRequest)) : this.#respond(ctx, answer, forRequest);
  }

  #respond(ctx: PolicyContext, response: ProxyResponse, forRequest: RequestFactsForResponse): ProxyResponse {
    let out = response;
    for (const step of this.response) out = step.run(ctx, out, forRequest);
    return out;
  }

  /**
   * What the policies would do to a request, one line per step, without counting or sending;
   * `status` when a step answers it (then the steps after it, and the pool, are not reached).
   */
  explain(facts: PolicyRequestFacts): { lines: string[]; status: number | undefined; pathAndQuery: string } {
    const ctx = new PolicyContext(facts, this.#pathRegex);
    const lines: string[] = [];
    let status: number | undefined;
    for (const step of this.request) {
      lines.push(`policy ${step.policy}: ${step.explain(ctx)}`);
      status = step.answers?.(ctx);
      if (status !== undefined) break;
    }
    for (const step of this.response) lines.push(`policy ${step.policy}: ${step.explain()}`);
    return { lines, status, pathAndQuery: ctx.pathAndQuery };
  }
}
