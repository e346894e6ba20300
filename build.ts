/**
 * Builds the single-file executable: `bun build.ts` (or `npm run build`) → dist/tenbin; and the
 * release binaries: `bun build.ts --release` (or `npm run release`) →
 * dist/release/tenbin-VERSION-OS-ARCH[.exe] for every target in RELEASE_TARGETS, plus SHA256SUMS in
 * the format `sha256sum -c` reads.
 *
 * Host target by default; `target` cross-compiles (Bun fetches the target's runtime from the npm
 * registry once and caches it). The binary ignores `.env` and `bunfig.toml` in the directory it runs from, so a stray file there
 * cannot change how a production balancer behaves. The version comes from package.json and is
 * stamped as the `TENBIN_VERSION` constant that src/version.ts reads.
 *
 * Options: `--entry FILE` (default src/main.ts), `--outfile FILE` (default dist/tenbin),
 * `--no-bytecode` (faster build for experiments); with `--release`: `--only NAME[,NAME]` builds some
 * targets only (names as in RELEASE_TARGETS, e.g. `linux-x64,linux-arm64`), `--outdir DIR` (default
 * dist/release). Run from any directory.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

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

/** One release target: the name in the file name and the `bun build --target` it compiles for. */
export interface ReleaseTarget {
  name: string;
  target: Bun.Build.CompileTarget;
  /** Whether the test suite runs this build (here: natively or under qemu-user). */
  tested: boolean;
}

/**
 * Every target a release ships. The musl build needs a musl libstdc++ that Debian lacks, and darwin
 * and windows cannot run here: those are built, not tested.
 */
export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { name: "linux-x64", target: "bun-linux-x64", tested: true },
  { name: "linux-x64-musl", target: "bun-linux-x64-musl", tested: false },
  { name: "linux-arm64", target: "bun-linux-arm64", tested: true },
  { name: "darwin-arm64", target: "bun-darwin-arm64", tested: false },
  { name: "darwin-x64", target: "bun-darwin-x64", tested: false },
  { name: "windows-x64", target: "bun-windows-x64", tested: false },
];

/** What `buildRelease` takes. */
export interface ReleaseOptions {
  /** Target names to build; all of RELEASE_TARGETS by default. */
  only?: readonly string[];
  /** Output directory; dist/release by default. */
  outdir?: string;
  bytecode?: boolean;
}

/** One built file. */
export interface ReleaseFile {
  target: ReleaseTarget;
  path: string;
  bytes: number;
  sha256: string;
}

/** File name of a target's binary: `tenbin-0.1.0-linux-arm64`, `tenbin-0.1.0-windows-x64.exe`. */
export function releaseFileName(version: string, target: ReleaseTarget): string {
  return `tenbin-${version}-${target.name}${target.target.includes("windows") ? ".exe" : ""}`;
}

/** Builds the chosen targets one after the other and writes SHA256SUMS for the files built. */
export async function buildRelease(options: ReleaseOptions = {}): Promise<ReleaseFile[]> {
  const version = packageVersion();
  const outdir = resolve(ROOT, options.outdir ?? "dist/release");
  const unknown = (options.only ?? []).filter((name) => !RELEASE_TARGETS.some((t) => t.name === name));
  if (unknown.length > 0) {
    throw new Error(`Unknown release target "${unknown[0]}" (known: ${RELEASE_TARGETS.map((t) => t.name).join(", ")})`);
  }
  const chosen = options.only ? RELEASE_TARGETS.filter((t) => options.only!.includes(t.name)) : RELEASE_TARGETS;
  mkdirSync(outdir, { recursive: true });
  const files: ReleaseFile[] = [];
  for (const target of chosen) {
    const outfile = join(outdir, releaseFileName(version, target));
    rmSync(outfile, { force: true });
    const built = await buildBinary({ outfile, version, target: target.target, ...(options.bytecode === false ? { bytecode: false } : {}) });
    const sha256 = createHash("sha256").update(readFileSync(built.outfile)).digest("hex");
    files.push({ target, path: built.outfile, bytes: built.bytes, sha256 });
  }
  // Two spaces between hash and name: the text mode line `sha256sum -c` expects.
  writeFileSync(join(outdir, "SHA256SUMS"), files.map((f) => `${f.sha256}  ${basename(f.path)}\n`).join(""));
  return files;
}

/** The command line: a build, or with `--release` the release targets. */
function commandLine(argv: string[]): { release: false; options: BuildOptions } | { release: true; options: ReleaseOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      entry: { type: "string" }, outfile: { type: "string" }, "no-bytecode": { type: "boolean" },
      release: { type: "boolean" }, only: { type: "string" }, outdir: { type: "string" },
    },
    strict: true,
  });
  const bytecode = values["no-bytecode"] === true ? { bytecode: false } : {};
  if (values.release === true) {
    if (values.entry !== undefined || values.outfile !== undefined) throw new Error(`Options "--entry" and "--outfile" do not go with "--release" (it builds src/main.ts into --outdir)`);
    return {
      release: true,
      options: {
        ...bytecode,
        ...(values.only === undefined ? {} : { only: values.only.split(",").filter((s) => s !== "") }),
        ...(values.outdir === undefined ? {} : { outdir: resolve(values.outdir) }),
      },
    };
  }
  if (values.only !== undefined || values.outdir !== undefined) throw new Error(`Options "--only" and "--outdir" need "--release"`);
  return {
    release: false,
    options: {
      ...bytecode,
      ...(values.entry === undefined ? {} : { entry: resolve(values.entry) }),
      ...(values.outfile === undefined ? {} : { outfile: resolve(values.outfile) }),
    },
  };
}

if (import.meta.main) {
  try {
    const command = commandLine(process.argv.slice(2));
    if (command.release) {
      for (const file of await buildRelease(command.options)) {
        const mb = (file.bytes / 1024 / 1024).toFixed(1);
        console.log(`built ${file.path} (${mb} MB${file.target.tested ? "" : ", not tested here"})`);
      }
      console.log("wrote SHA256SUMS");
    } else {
      const built = await buildBinary(command.options);
      const mb = (built.bytes / 1024 / 1024).toFixed(1);
      console.log(`built ${built.outfile} (tenbin ${built.version}, ${mb} MB, ${built.ms} ms)`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
