/**
 * The digest of a loaded config, shown by `/healthz`, `/api/status` and `/metrics` so monitoring can
 * see two nodes of a pair disagree. It is the sha256 of the *validated* config (after `${NAME}`
 * expansion and every default), written as JSON with sorted keys:
 * - comments, key order, quoting and `30s` vs `30000ms` do not change it (the same behaviour);
 * - a different environment does (a `${STICKY_KEY}` that differs between nodes breaks persistence
 *   across them, which is exactly the drift to catch); the digest reveals nothing of the secret;
 * - files the config names (certificates, sorry pages) count by path, not by content.
 */
import { lazyBuiltin } from "../util/lazy-builtin.ts";
import type { Config } from "./schema.ts";

const nodeCrypto = lazyBuiltin("node:crypto");
// A Config is immutable and replaced whole on reload, so one digest per object is enough.
const cache = new WeakMap<Config, string>();

/** `sha256:<hex>` of `config` in canonical JSON. */
export function configDigest(config: Config): string {
  let digest = cache.get(config);
  if (digest === undefined) {
    digest = `sha256:${nodeCrypto().createHash("sha256").update(canonicalJson(config)).digest("hex")}`;
    cache.set(config, digest);
  }
  return digest;
}

/** JSON with object keys sorted at every level and `undefined` members left out. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== "function")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
