/** `redirect`: answer 301/302/307/308 with a Location made from a template, the query kept or dropped. */
import type { PolicySetConfig } from "../config/policy-schema.ts";
import type { PolicyStats } from "../observe/policy-metrics.ts";
import type { PolicyContext } from "./context.ts";
import { plainAnswer, type RequestStep } from "./step.ts";
import { compileTemplate } from "./template.ts";

/** The redirect step; it always answers. */
export function redirectStep(config: NonNullable<PolicySetConfig["redirect"]>, policy: string, stats: PolicyStats): RequestStep {
  const target = compileTemplate(config.to);
  const location = (ctx: PolicyContext): string => {
    const to = target.render(ctx);
    if (!config.keep_query || ctx.query === "") return to;
    return `${to}${to.includes("?") ? "&" : "?"}${ctx.query}`;
  };
  return {
    policy,
    kind: "redirect",
    stats,
    run(ctx) {
      stats.count("redirect");
      ctx.answeredBy = policy;
      return plainAnswer(config.status, "", { location: location(ctx), "cache-control": config.status === 301 || config.status === 308 ? "max-age=3600" : "no-store" }, ctx.requestId);
    },
    explain: (ctx) => `redirect: ${config.status} to ${location(ctx)} (the pool is not asked)`,
    answers: () => config.status,
  };
}
