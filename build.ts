/**
 * Builds the single-file executable: `bun build.ts` (or `npm run build`) → dist/tenbin.
 *
 * Host target by default; `target` cross-compiles (release.ts builds every release target that way;
 * Bun fetches the target's runtime from the npm registry once and caches it). The binary ignores `.env` and `bunfig.toml` in the directory it runs from, so a stray file there
 * cannot change how a production balancer behaves. The version comes from package.json and is
 * stamped as the `TENBIN_VERSION` constant that src/version.ts reads.
 *
 * Options: `--entry FILE` (default src/main.ts), `--outfile FILE` (default dist/tenbin),
 * `--no-bytecode` (faster build for experiments). Run from any directory.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const ROOT = import.meta.dir;

/** What `buildBinary` takes; every field has a default that builds the release binary. */
export interface BuildOptions {
  /** Entry module; src/main.ts by default. */
  entry?: string;
  /** Output executable; dist/tenbin by default. */
  outfile?: string;
  /** Version to stamp; package.json `version` by default. */
  version?: string;
  /** Precompile to JavaScriptCore bytecode (faster start); on by default. */
  bytecode?: boolean;
  /** A `bun build --target` such as `bun-linux-arm64`; the host's by default. */
  target?: Bun.Build.CompileTarget;
}

/** What a finished build produced. */
export interface BuildResult {
  outfile: string;
  version: string;
  bytes: number;
  ms: number;
}

/** Reads `version` from the package.json next to this file. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version?: unknown };
  if (typeof pkg.version !== "string" || pkg.version === "") {
    throw new Error(`Field "version" of "${join(ROOT, "package.json")}" is missing`);
  }
  return pkg.version;
}

/** Compiles `entry` into a standalone executable for the host, or for `options.target`. */
export async function buildBinary(options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const entry = resolve(ROOT, options.entry ?? "src/main.ts");
  const outfile = resolve(ROOT, options.outfile ?? "dist/tenbin");
  const version = options.version ?? packageVersion();
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await Bun.build({
    entrypoints: [entry],
    target: "bun",
    format: "esm",
    minify: true,
    bytecode: options.bytecode ?? true,
    // With `compile`, "linked" embeds the map in the executable: stack traces name src/ lines.
    sourcemap: "linked",
    define: { TENBIN_VERSION: JSON.stringify(version) },
    compile: { outfile, autoloadDotenv: false, autoloadBunfig: false, ...(options.target ? { target: options.target } : {}) },
    throw: false,
  });
  if (!result.success) {
    const messages = result.logs.map((log) => String(log)).join("\n");
    throw new Error(`Build of "${entry}" failed\n${messages}`);
  }
  // The map is embedded in the executable too; the side file would only be a second artefact to ship.
  rmSync(`${outfile}.map`, { force: true });
  // Bun adds .exe for windows targets when the name lacks it.
  const written = options.target?.includes("windows") && !outfile.endsWith(".exe") ? `${outfile}.exe` : outfile;
  return { outfile: written, version, bytes: statSync(written).size, ms: Math.round(performance.now() - started) };
}

function parseArgs(argv: string[]): BuildOptions {
  const options: BuildOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`Option "${arg}" needs a value`);
      return next;
    };
    if (arg === "--entry") options.entry = resolve(value());
    else if (arg === "--outfile") options.outfile = resolve(value());
    else if (arg === "--no-bytecode") options.bytecode = false;
    else throw new Error(`Unknown option "${arg}" (known: --entry, --outfile, --no-bytecode)`);
  }
  return options;
}

if (import.meta.main) {
  try {
    const built = await buildBinary(parseArgs(process.argv.slice(2)));
    const mb = (built.bytes / 1024 / 1024).toFixed(1);
    console.log(`built ${built.outfile} (tenbin ${built.version}, ${mb} MB, ${built.ms} ms)`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
