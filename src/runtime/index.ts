/** Picks the `Runtime` of the engine we run on. Only main.ts (and tests) import this file. */
import type { Runtime } from "./types.ts";

/** Loads `bun.ts` or `deno.ts`; each names its engine's globals only when loaded. */
export async function loadRuntime(): Promise<Runtime> {
  if ("Bun" in globalThis) return (await import("./bun.ts")).bunRuntime;
  return (await import("./deno.ts")).denoRuntime;
}
