/**
 * Starts tenbin for end-to-end tests: as a real process (from source, under Deno, or the compiled
 * binary) or in this process (faster, same code path from the listener down). Configs are written
 * to a temp dir; listeners should use port 0 and tests read the real port back.
 */
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadConfigText } from "../../src/config/load.ts";
import { memoryLogger } from "../../src/observe/log.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";
import { Tenbin } from "../../src/start.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const DENO = join(ROOT, "node_modules/.bin/deno");

/** Writes `yaml` to a fresh temp dir and returns the file's path. */
export function writeConfig(yaml: string, name = "tenbin.yaml"): string {
  const dir = mkdtempSync(join(tmpdir(), "tenbin-test-"));
  const file = join(dir, name);
  writeFileSync(file, yaml);
  return file;
}

/** A tenbin process with its listeners' ports and its output so far. */
/** Saves the way editors do: a temporary file renamed over the config. */
export function saveLikeEditor(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Fetches `url` until its body is `want` (bounded: 200 tries, 20 ms apart). */
export async function fetchUntil(url: string, want: string): Promise<void> {
  let last = "";
  for (let i = 0; i < 200; i++) {
    last = await (await fetch(url)).text();
    if (last === want) return;
    await Bun.sleep(20);
  }
  throw new Error(`still "${last}" instead of "${want}"`);
}

export interface TenbinProcess {
  readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly configFile: string;
  /** Port of the named listener (or of the first). */
  port(listener?: string): number;
  url(path?: string, listener?: string): string;
  output(): string;
  /** Sends a signal and waits for exit (bounded); returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  /** Resolves when the output matches `pattern` (bounded by `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  /** `source` (bun src/main.ts), `deno` (deno run src/main.ts) or `binary` (dist/tenbin). */
  how?: "source" | "deno" | "binary";
  env?: Record<string, string>;
  /** For `how: "binary"`: the command that runs the binary (default dist/tenbin), e.g. under qemu. */
  binary?: readonly string[];
  /** Extra arguments after `run -c FILE`. */
  args?: string[];
  /** Listener names to wait for (default: every listener named in the log before "ready" times out). */
  listeners?: number;
  timeoutMs?: number;
}

/** Starts `tenbin run -c <file>` and waits until `listeners` listeners logged their port. */
export async function startTenbin(yamlOrFile: string, options: StartOptions = {}): Promise<TenbinProcess> {
  const configFile = yamlOrFile.includes("\n") ? writeConfig(yamlOrFile) : yamlOrFile;
  const how = options.how ?? "source";
  const cmd = how === "binary"
    ? [...(options.binary ?? [join(ROOT, "dist/tenbin")]), "run", "-c", configFile]
    : how === "deno"
    ? [DENO, "run", "--allow-all", join(ROOT, "src/main.ts"), "run", "-c", configFile]
    : [BUN, join(ROOT, "src/main.ts"), "run", "-c", configFile];
  const proc = Bun.spawn([...cmd, ...(options.args ?? [])], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...options.env },
  });
  let text = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      text += decoder.decode(chunk, { stream: true });
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pattern.test(text)) waiters.splice(i, 1)[0]!.resolve();
      }
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const waitFor = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      if (pattern.test(text)) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output:\n${text}`)), timeoutMs);
      waiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      void proc.exited.then((code) => {
        clearTimeout(timer);
        if (!pattern.test(text)) reject(new Error(`tenbin exited with ${code} before ${pattern}; output:\n${text}`));
      });
    });
  const wanted = options.listeners ?? 1;
  const listening = new RegExp(`(listener \\S+ listening on \\S+[\\s\\S]*){${wanted}}`);
  await waitFor(listening, options.timeoutMs ?? 15_000);
  const ports = () => {
    const map = new Map<string, number>();
    for (const m of text.matchAll(/listener (\S+) listening on \S+:(\d+)/g)) map.set(m[1]!, Number(m[2]));
    return map;
  };
  const port = (listener?: string): number => {
    const map = ports();
    const found = listener === undefined ? [...map.values()][0] : map.get(listener);
    if (found === undefined) throw new Error(`no port for listener ${listener ?? "(first)"}; output:\n${text}`);
    return found;
  };
  return {
    proc,
    configFile,
    port,
    url: (path = "/", listener?: string) => `http://127.0.0.1:${port(listener)}${path}`,
    output: () => text,
    waitFor,
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** tenbin in this process: quicker to start, same listener → router → pool → proxy path. */
export async function startTenbinInProcess(yaml: string, env: Record<string, string | undefined> = process.env) {
  const config = loadConfigText(yaml, "test.yaml", env);
  const logger = memoryLogger();
  const tenbin = await Tenbin.start(config, { runtime: bunRuntime, logger });
  return {
    tenbin,
    logger,
    port: (name?: string) => (name ? tenbin.listeners.find((l) => l.name === name)! : tenbin.listeners[0]!).port,
    url(path = "/", name?: string) {
      return `http://127.0.0.1:${this.port(name)}${path}`;
    },
    stop: () => tenbin.stop(2000),
  };
}
