/** The shared policy cases (policy-cases.ts) on both HTTP engines. */
import { runPolicyCases } from "./policy-cases.ts";

runPolicyCases("tenbin");
runPolicyCases("runtime");
