/**
 * Placeholders in policy values (`{client_ip}`, `{host}`, `{re.1}` ...), compiled once per config
 * load into a list of literal parts and readers, so a request only concatenates.
 */
import type { PolicyContext } from "./context.ts";

/** A compiled value: `render(ctx)` gives the text for one request. */
export interface Template {
  /** The value as written, for `tenbin route`. */
  readonly source: string;
  /** Whether it holds no placeholder (then `render` always returns `text`). */
  readonly constant: boolean;
  /** The text of a constant (its `{{` and `}}` as single braces); undefined otherwise. */
  readonly text: string | undefined;
  render(ctx: PolicyContext): string;
}

type Part = string | ((ctx: PolicyContext) => string);

const READERS: Record<string, (ctx: PolicyContext) => string> = {
  client_ip: (ctx) => ctx.clientIp,
  host: (ctx) => ctx.hostname,
  hostport: (ctx) => ctx.hostHeader,
  scheme: (ctx) => ctx.scheme,
  request_id: (ctx) => ctx.requestId,
  method: (ctx) => ctx.method,
  path: (ctx) => ctx.path,
  query: (ctx) => ctx.query,
  uri: (ctx) => (ctx.query === "" ? ctx.path : `${ctx.path}?${ctx.query}`),
};

/** The placeholder names a template may use besides `re.N`, `re.NAME` and `header.NAME`. */
export const PLACEHOLDERS = Object.keys(READERS);

/**
 * Compiles `text`; throws an Error naming an unknown placeholder. `{{` and `}}` stand for literal
 * braces. `{re.N}` / `{re.NAME}` read the groups of the route's `match.path` regex.
 */
export function compileTemplate(text: string): Template {
  const parts: Part[] = [];
  let literal = "";
  const pattern = /\{\{|\}\}|\{([a-z_]+(?:\.[A-Za-z0-9_-]+)?)\}/g;
  let at = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    literal += text.slice(at, m.index);
    at = m.index + m[0].length;
    if (m[0] === "{{") literal += "{";
    else if (m[0] === "}}") literal += "}";
    else {
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(readerOf(m[1]!));
    }
  }
  literal += text.slice(at);
  if (literal !== "") parts.push(literal);
  if (parts.every((p) => typeof p === "string")) {
    const value = parts.join("");
    return { source: text, constant: true, text: value, render: () => value };
  }
  return {
    source: text,
    constant: false,
    text: undefined,
    render(ctx) {
      let out = "";
      for (const part of parts) out += typeof part === "string" ? part : part(ctx);
      return out;
    },
  };
}

function readerOf(name: string): (ctx: PolicyContext) => string {
  const reader = READERS[name];
  if (reader) return reader;
  const dot = name.indexOf(".");
  const scope = name.slice(0, dot);
  const key = name.slice(dot + 1);
  if (dot > 0 && scope === "re") {
    const index = /^\d+$/.test(key) ? Number(key) : undefined;
    return (ctx) => {
      const groups = ctx.pathGroups();
      if (groups === null) return "";
      return (index === undefined ? groups.groups?.[key] : groups[index]) ?? "";
    };
  }
  if (dot > 0 && scope === "header") {
    const header = key.toLowerCase();
    return (ctx) => ctx.headers.get(header) ?? "";
  }
  throw new Error(`unknown placeholder "{${name}}"; expected one of ${[...PLACEHOLDERS, "re.N", "re.NAME", "header.NAME"].map((p) => `{${p}}`).join(", ")}`);
}
