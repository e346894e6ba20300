/**
 * A long differential fuzzing campaign of tenbin's HTTP/1 codec against Node's llhttp: requests
 * (test/http1/fuzz-requests.ts), then as many servers' answers (test/http1/fuzz-answers.ts). CI runs
 * a short one in test/http1/fuzz-llhttp.test.ts.
 *
 *   node_modules/.bin/bun bench/fuzz-h1.ts --seed 1 --count 200000
 *
 * Prints the tally and every mismatch (input and mutations), and exits 1 when there is one.
 */
import { runAnswerCampaign } from "../test/http1/fuzz-answers.ts";
import { runCampaign } from "../test/http1/fuzz-requests.ts";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : Number(process.argv[at + 1]);
  if (value !== undefined && !Number.isInteger(value)) throw new Error(`--${name} needs an integer, got "${process.argv[at + 1]}"`);
  return value ?? fallback;
}

const seed = flag("seed", Date.now() % 1_000_000);
const count = flag("count", 100_000);
let failed = false;
for (const [side, run] of [["requests", runCampaign], ["answers", runAnswerCampaign]] as const) {
  const started = performance.now();
  const report = await run(seed, count);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${side}, seed ${seed}: ${report.cases} cases in ${seconds} s: ${report.agree} agree, ${report.stricter} refused by tenbin only, justified ${JSON.stringify(report.justified)}, ${report.mismatches.length} mismatches`);
  for (const m of report.mismatches.slice(0, 50)) console.log(`#${m.id}: ${m.why}\n  input ${m.input}\n  mutations ${m.mutations.join("; ")}`);
  failed ||= report.mismatches.length > 0;
}
process.exit(failed ? 1 : 0);
