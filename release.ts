/**
 * Builds the release binaries: `npm run release` (or `bun release.ts`) →
 * dist/release/tenbin-VERSION-OS-ARCH[.exe] for every target in RELEASE_TARGETS, plus SHA256SUMS in
 * the format `sha256sum -c` reads.
 *
 * Options: `--only NAME[,NAME]` builds some targets only (names as in RELEASE_TARGETS, e.g.
 * `linux-x64,linux-arm64`), `--outdir DIR` (default dist/release), `--no-bytecode`.
 * Bun fetches each target's runtime from the npm registry the first time and caches it.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { buildBinary, packageVersion } from "./build.ts";

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
  const outdir = resolve(import.meta.dir, options.outdir ?? "dist/release");
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

function parseArgs(argv: string[]): ReleaseOptions {
  const options: ReleaseOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`Option "${arg}" needs a value`);
      return next;
    };
    if (arg === "--only") options.only = value().split(",").filter((s) => s !== "");
    else if (arg === "--outdir") options.outdir = resolve(value());
    else if (arg === "--no-bytecode") options.bytecode = false;
    else throw new Error(`Unknown option "${arg}" (known: --only, --outdir, --no-bytecode)`);
  }
  return options;
}

if (import.meta.main) {
  try {
    for (const file of await buildRelease(parseArgs(process.argv.slice(2)))) {
      const mb = (file.bytes / 1024 / 1024).toFixed(1);
      console.log(`built ${file.path} (${mb} MB${file.target.tested ? "" : ", not tested here"})`);
    }
    console.log("wrote SHA256SUMS");
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
