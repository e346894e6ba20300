/** Parsing of the small value languages used in the config file: durations, sizes, addresses. */

// One or more parts, largest unit first as Go's time.ParseDuration writes them: `1m30s`, `1h5m`.
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a duration such as `250ms`, `2s`, `1.5m`, `1h`, `7d` or `1m30s` (parts in
 * decreasing units, each unit once); undefined when malformed.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let ms = 0;
  let last = Number.POSITIVE_INFINITY;
  for (const [, value, unit] of trimmed.matchAll(DURATION_PART)) {
    const size = DURATION_UNITS[unit!]!;
    if (size >= last) return undefined; // `30s1m`, `1s1s`: ambiguous, refused
    last = size;
    ms += Number(value) * size;
  }
  return Math.round(ms);
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** What a size unit means, for schema descriptions and error messages (decimal as on disks, binary with an `i`). */
export const SIZE_UNITS_NOTE = "KB, MB, GB are decimal (1MB = 1,000,000 bytes); KiB, MiB, GiB are binary (1MiB = 1,048,576 bytes)";

/** Bytes of a size such as `512`, `64KB`, `10MiB`; undefined when malformed (units: `SIZE_UNITS_NOTE`). */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()]!);
}

/** A `host:port` listen or connect address. */
export interface Address { host: string; port: number }

/** Parses `host:port`, `[v6]:port` or `:port` (all interfaces); undefined when malformed. */
export function parseAddress(text: string): Address | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]!);
  return { host, port };
}
