/** `respond`: a fixed answer (robots.txt, a maintenance page) made by tenbin, without a pool. */
import { readFileSync } from "node:fs";
import type { PolicySetConfig } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import { plainAnswer, type RequestStep } from "./step.ts";
import { compileTemplate } from "./template.ts";

/** The respond step; it always answers. A body file is read here, once per config load. */
export function respondStep(config: NonNullable<PolicySetConfig["respond"]>, policy: string, stats: PolicyStats): RequestStep {
  const file = config.body_file === undefined ? undefined : new Uint8Array(readFileSync(config.body_file));
  const text = compileTemplate(config.body ?? "");
  const headers = { "content-type": config.content_type };
  return {
    policy,
    kind: "respond",
    stats,
    run(ctx) {
      stats.count("respond");
      ctx.answeredBy = policy;
      return plainAnswer(config.status, file ?? text.render(ctx), headers, ctx.requestId);
    },
    answers: () => config.status,
    explain: (ctx) => {
      const body = file ? `${file.byteLength} bytes of ${config.body_file}` : JSON.stringify(text.render(ctx).slice(0, 60));
      return `respond: ${config.status} ${config.content_type}, body ${body} (the pool is not asked)`;
    },
  };
}
