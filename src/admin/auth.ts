/**
 * Admin authentication: a bearer token compared in constant time. Browsers cannot add a bearer
 * header to a page load, so the same token is also accepted as the password of HTTP Basic auth
 * (any user name); the browser then sends it with the dashboard's API calls by itself.
 */
import { lazyBuiltin } from "../util/lazy-builtin.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

/** Whether an `Authorization` header carries `token` (Bearer, or Basic with it as the password). */
export function authorized(header: string | null | undefined, token: string): boolean {
  if (!header) return false;
  const space = header.indexOf(" ");
  if (space < 0) return false;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return sameSecret(value, token);
  if (scheme === "basic") {
    let decoded: string;
    try {
      decoded = atob(value);
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    return colon >= 0 && sameSecret(decoded.slice(colon + 1), token);
  }
  return false;
}

/**
 * Constant-time equality of two secrets. Both are hashed first: `timingSafeEqual` needs equal
 * lengths, and comparing digests leaks neither the token's length nor where a guess goes wrong.
 */
export function sameSecret(given: string, expected: string): boolean {
  const { createHash, timingSafeEqual } = nodeCrypto();
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
