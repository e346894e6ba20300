/**
 * Regenerates the generated parts of the repository: config/schema.json and the config reference in
 * README.md. Run `node_modules/.bin/bun test/update-readme.ts` after changing src/config/schema.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { embedConfigReference, renderJsonSchema } from "../src/config/reference.ts";

const root = join(import.meta.dir, "..");
writeFileSync(join(root, "config/schema.json"), renderJsonSchema());
const readmePath = join(root, "README.md");
const updated = embedConfigReference(readFileSync(readmePath, "utf8"));
if (updated === undefined) throw new Error("README.md lacks the config-reference markers");
writeFileSync(readmePath, updated);
console.log("updated config/schema.json and README.md");
