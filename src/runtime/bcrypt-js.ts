/**
 * bcrypt in plain JavaScript (the `bcryptjs` package) for a runtime without a native hash check
 * (Deno). It checks `$2a$`, `$2b$` and `$2y$` hashes (Bun's and htpasswd's); argon2 and the old
 * `$2$`/`$2x$` stay unsupported there, and a config with such a hash is refused at start
 * (policy/compile.ts). The work runs in slices between other tasks, so a check does not stall the
 * event loop for its whole time (cost 10: about 80 ms a check on Bun, against 60 ms natively).
 */
type BcryptJs = typeof import("bcryptjs");

let loaded: Promise<BcryptJs> | undefined;
// Loaded on the first check only: Bun, which checks natively, never loads it.
const bcryptJs = (): Promise<BcryptJs> => (loaded ??= import("bcryptjs"));

const SUPPORTED = /^\$2[aby]\$\d\d\$/;

/** Whether `bcryptJsVerify` can check `hash` (a `$2a$`, `$2b$` or `$2y$` bcrypt hash). */
export function bcryptJsSupports(hash: string): boolean {
  return SUPPORTED.test(hash);
}

/** Checks `password` against a bcrypt hash; false for a hash it cannot check. */
export async function bcryptJsVerify(password: string, hash: string): Promise<boolean> {
  if (!bcryptJsSupports(hash)) return false;
  return await (await bcryptJs()).compare(password, hash);
}

/** A `$2b$` bcrypt hash of `password` at cost 10 (as Bun makes for `tenbin hash-password`). */
export async function bcryptJsHash(password: string): Promise<string> {
  return await (await bcryptJs()).hash(password, 10);
}
