/**
 * Regenerates the generated parts of the repository: config/schema.json and the config reference in
 * docs/config-reference.md. Run `node_modules/.bin/bun test/update-readme.ts` after changing
 * src/config/schema.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { embedConfigReference, renderJsonSchema } from "../src/config/reference.ts";

const root = join(import.meta.dir, "..");
writeFileSync(join(root, "config/schema.json"), renderJsonSchema());
const referencePath = join(root, "docs/config-reference.md");
const updated = embedConfigReference(readFileSync(referencePath, "utf8"));
if (updated === undefined) throw new Error("docs/config-reference.md lacks the config-reference markers");
writeFileSync(referencePath, updated);
console.log("updated config/schema.json and docs/config-reference.md");
