/**
 * The version of this build. `build.ts` stamps it at compile time with
 * `define: { TENBIN_VERSION: '"x.y.z"' }` from package.json; running from source (Bun or Deno) has no
 * stamp, so it reads "dev" rather than a number that may not match the code.
 */

declare const TENBIN_VERSION: string | undefined;

/** The release version (package.json `version`) of a compiled binary, or "dev" from source. */
export const VERSION: string = typeof TENBIN_VERSION === "string" ? TENBIN_VERSION : "dev";
