/**
 * `request_headers` and `response_headers`: set, add and remove, values with placeholders compiled
 * once. Removal runs first, then set, then add (Caddy's order), so `remove: [Server]` plus
 * `set: { Server: tenbin }` leaves one.
 */
import type { HeaderEditsConfig } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import type { HeaderMap, ProxyResponse } from "../runtime/types.ts";
import { withEditedHeaders } from "./step.ts";
import type { PolicyContext } from "./context.ts";
import { type RequestStep, type ResponseStep } from "./step.ts";
import { compileTemplate, type Template } from "./template.ts";

interface CompiledEdits {
  remove: readonly string[];
  set: readonly [string, Template][];
  add: readonly [string, Template][];
}

function compileEdits(config: HeaderEditsConfig): CompiledEdits {
  return {
    remove: config.remove.map((name) => name.toLowerCase()),
    set: Object.entries(config.set).map(([name, value]) => [name.toLowerCase(), compileTemplate(value)]),
    add: Object.entries(config.add).map(([name, value]) => [name.toLowerCase(), compileTemplate(value)]),
  };
}

function applyEdits(edits: CompiledEdits, headers: HeaderMap, ctx: PolicyContext): void {
  for (const name of edits.remove) headers.delete(name);
  for (const [name, value] of edits.set) headers.set(name, value.render(ctx));
  for (const [name, value] of edits.add) headers.append(name, value.render(ctx));
}

function explainEdits(edits: CompiledEdits, ctx: PolicyContext | undefined): string {
  const parts = [
    ...edits.remove.map((name) => `remove ${name}`),
    ...edits.set.map(([name, value]) => `set ${name}: ${ctx ? value.render(ctx) : value.source}`),
    ...edits.add.map(([name, value]) => `add ${name}: ${ctx ? value.render(ctx) : value.source}`),
  ];
  return parts.join("; ");
}

/** The request-side step. */
export function requestHeadersStep(config: HeaderEditsConfig, policy: string, stats: PolicyStats): RequestStep {
  const edits = compileEdits(config);
  return {
    policy,
    kind: "request_headers",
    stats,
    run(ctx) {
      ctx.editHeaders((headers) => applyEdits(edits, headers, ctx));
      return undefined;
    },
    explain: (ctx) => `request headers: ${explainEdits(edits, ctx)}`,
  };
}

/** The answer-side step. */
export function responseHeadersStep(config: HeaderEditsConfig, policy: string, stats: PolicyStats): ResponseStep {
  const edits = compileEdits(config);
  return {
    policy,
    kind: "response_headers",
    stats,
    run(ctx, response): ProxyResponse {
      return withEditedHeaders(response, (headers) => applyEdits(edits, headers, ctx));
    },
    explain: () => `response headers: ${explainEdits(edits, undefined)}`,
  };
}
