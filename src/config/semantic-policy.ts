/**
 * The policy part of the config's semantic checks: names a route lists must exist, a route without
 * a pool must answer by itself (redirect or respond), placeholders, regexes, CIDRs and body files
 * must be usable. Each problem names its key path, so the loader gives it a line and column.
 */
import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";
import { compileTemplate } from "../policy/template.ts";
import type { KeySegment } from "./config-error.ts";
import type { PolicySetConfig } from "./policy-schema.ts";
import type { Config, ListenerConfig } from "./schema.ts";

type Report = (path: KeySegment[], message: string) => void;

/** Checks the top-level `policies` map and the policy keys of every route. */
export function checkPolicies(config: Config, report: Report): void {
  for (const [name, set] of Object.entries(config.policies ?? {})) checkSet(set, ["policies", name], report);
  config.listeners.forEach((listener, i) => {
    if (listener.mode === "http") checkRoutePolicies(config, listener, i, report);
  });
}

function checkRoutePolicies(config: Config, listener: ListenerConfig, i: number, report: Report): void {
  const known = Object.keys(config.policies ?? {});
  listener.routes.forEach((route, r) => {
    const at: KeySegment[] = ["listeners", i, "routes", r];
    (route.policies ?? []).forEach((name, p) => {
      if (known.includes(name)) return;
      const right = known.length > 0 ? `expected one of the policies ${known.join(", ")}` : "no policies are defined; add a top-level policies map or put the keys on the route";
      report([...at, "policies", p], `unknown policy ${q(name)}; ${right}`);
    });
    checkSet(route, at, report);
    if (route.pool === undefined) {
      const sets = [...(route.policies ?? []).map((n) => config.policies?.[n]), route];
      if (!sets.some((s) => s?.redirect !== undefined || s?.respond !== undefined)) {
        report(at, `route has no pool and no policy that answers (redirect or respond); add pool: NAME or a redirect or respond`);
      }
    }
  });
}

function checkSet(set: PolicySetConfig, at: KeySegment[], report: Report): void {
  if (set.redirect && set.respond) report([...at, "respond"], `a policy set answers with redirect or respond, not both; move one to its own route`);
  for (const side of ["request_headers", "response_headers"] as const) {
    const edits = set[side];
    if (!edits) continue;
    for (const kind of ["set", "add"] as const) {
      for (const [name, value] of Object.entries(edits[kind])) checkTemplate(value, [...at, side, kind, name], report);
    }
  }
  if (set.redirect) checkTemplate(set.redirect.to, [...at, "redirect", "to"], report);
  if (set.respond?.body !== undefined) checkTemplate(set.respond.body, [...at, "respond", "body"], report);
  if (set.respond?.body !== undefined && set.respond.body_file !== undefined) report([...at, "respond", "body_file"], `respond takes body or body_file, not both`);
  if (set.respond?.body_file !== undefined) {
    try {
      accessSync(set.respond.body_file, constants.R_OK);
    } catch (error) {
      report([...at, "respond", "body_file"], `cannot read ${q(set.respond.body_file)}: ${(error as { code?: string }).code ?? String(error)}`);
    }
  }
  if (set.rewrite) {
    try {
      new RegExp(set.rewrite.regex);
    } catch (error) {
      const reason = String((error as Error).message).split(": ").at(-1) ?? "";
      report([...at, "rewrite", "regex"], `bad regex ${q(set.rewrite.regex)}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}; expected a JavaScript regular expression`);
    }
  }
  for (const list of ["allow", "deny"] as const) {
    set[list]?.forEach((cidr, c) => {
      if (!isCidr(cidr)) report([...at, list, c], `bad address ${q(cidr)}; expected an IP address or CIDR such as 10.0.0.0/8 or ::1/128`);
    });
  }
}

function checkTemplate(text: string, path: KeySegment[], report: Report): void {
  try {
    compileTemplate(text);
  } catch (error) {
    report(path, (error as Error).message);
  }
}

function isCidr(text: string): boolean {
  const [ip = "", bits, ...rest] = text.split("/");
  const family = isIP(ip);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

function q(value: string): string {
  return JSON.stringify(value);
}
