/**
 * `engine: runtime` end to end: the parity cases (engine-cases.ts) on the runtime's HTTP server
 * (Bun.serve here, Deno.serve in the Deno case) and fetch; the differences it forces are asserted
 * in the cases and listed in docs/engines.md.
 */
import { runEngineCases } from "./engine-cases.ts";

runEngineCases({ engine: "runtime" });
