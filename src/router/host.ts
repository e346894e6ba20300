/**
 * Host names as the router compares them: lower case, no port, no trailing dot, IPv6 literals in
 * brackets. The request side runs once per request, so it slices and lower-cases only when it must.
 */

const OPEN_BRACKET = 0x5b; // [
const DOT = 0x2e;
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;

/**
 * The comparable form of a raw `Host` header (`Example.COM:8080` → `example.com`,
 * `[::1]:8080` → `[::1]`); `""` when the header is missing or has no host part.
 */
export function normalizeRequestHost(raw: string | null): string {
  if (raw === null) return "";
  let end = raw.length;
  if (raw.charCodeAt(0) === OPEN_BRACKET) {
    const close = raw.indexOf("]");
    if (close > 0) end = close + 1;
  } else {
    const colon = raw.indexOf(":");
    if (colon >= 0) end = colon;
  }
  // `example.com.` names the same host as `example.com` (a fully qualified name).
  if (end > 0 && raw.charCodeAt(end - 1) === DOT) end--;
  const host = end === raw.length ? raw : raw.slice(0, end);
  return hasUpperCase(host) ? host.toLowerCase() : host;
}

// Most clients send lower-case hosts; checking first spares the copy `toLowerCase` may make.
function hasUpperCase(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= UPPER_A && c <= UPPER_Z) return true;
  }
  return false;
}

/** A host condition of a route, compiled. */
export type HostPattern =
  | { readonly kind: "exact"; readonly host: string }
  /** `*.example.com`: `suffix` is `.example.com`; one or more labels must precede it. */
  | { readonly kind: "wildcard"; readonly suffix: string }
  /** `*`: any request, as if the route had no host condition. */
  | { readonly kind: "any" };

/**
 * Compiles one configured host (`api.example.com`, `*.example.com`, `[::1]`, `::1`, `*`); a port in
 * it is ignored like the request's. Returns an error message when the pattern is unusable.
 */
export function parseHostPattern(text: string): HostPattern | string {
  const trimmed = text.trim();
  if (trimmed === "*") return { kind: "any" };
  if (trimmed === "") return `empty host`;
  if (/\s|\//.test(trimmed)) return `bad host "${text}"; expected a host name such as api.example.com or *.example.com`;
  // A bare IPv6 literal (`::1`) cannot carry a port; bracket it the way a Host header spells it.
  const bracketed = !trimmed.startsWith("[") && trimmed.indexOf(":") !== trimmed.lastIndexOf(":") ? `[${trimmed}]` : trimmed;
  const host = normalizeRequestHost(bracketed);
  if (host.startsWith("*.")) {
    const suffix = host.slice(1);
    if (suffix.length < 2 || suffix.includes("*")) return `bad host "${text}"; a wildcard is written *.example.com`;
    return { kind: "wildcard", suffix };
  }
  if (host === "" || host.includes("*")) return `bad host "${text}"; a wildcard is written *.example.com`;
  return { kind: "exact", host };
}

/**
 * The value `lookup` holds for the longest wildcard suffix of `host`, trying `.b.example.com`, then
 * `.example.com`, then `.com` for `a.b.example.com`; undefined when none is there.
 */
export function findLongestSuffix<T>(host: string, lookup: ReadonlyMap<string, T>): T | undefined {
  // Start at 1: a wildcard needs at least one character of label before its suffix.
  for (let dot = host.indexOf(".", 1); dot >= 0; dot = host.indexOf(".", dot + 1)) {
    const hit = lookup.get(host.slice(dot));
    if (hit !== undefined) return hit;
  }
  return undefined;
}
