/**
 * `engine: auto` (the default) made concrete: tenbin's own HTTP/1.1 server, which costs less CPU per
 * request (docs/internals.md, "The HTTP server: `engine`") and reaches http:// and https:// servers alike,
 * unless the listener needs what only the runtime's server does: HTTP/2. After this runs every
 * HTTP listener's engine is `runtime` or `tenbin`.
 */
import type { Config } from "./schema.ts";

/** Replaces each HTTP listener's `engine: auto` with the engine it gets; returns `config`. */
export function resolveEngines(config: Config): Config {
  for (const listener of config.listeners) {
    if (listener.mode !== "http" || listener.engine !== "auto") continue;
    listener.engine = listener.http2 ? "runtime" : "tenbin";
  }
  return config;
}
