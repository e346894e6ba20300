/**
 * A backend in its own process, so a test can kill it the way an outage does (SIGKILL: no FIN, no
 * goodbye) and start it again on the same port. Run as a script it serves on 127.0.0.1:
 *
 *   bun test/helpers/backend-child.ts PORT NAME [MODE]
 *
 * - every path answers 200 with NAME as the body; MODE `503` answers 503 instead (except /healthz);
 * - /healthz answers 200 "ok";
 * - /slow?ms=N waits N ms before answering.
 * It prints `listening PORT` once, then `req MS PATH` per request (MS = Date.now() on arrival), so the
 * test knows what reached the process and when, probes included.
 *
 * Imported, it offers `spawnBackend()`, which starts such a process and reads its lines.
 */
import { join } from "node:path";

const SCRIPT = import.meta.path;
const BUN = join(import.meta.dir, "../../node_modules/.bin/bun");

/** A request the child process saw. */
export interface ChildRequest {
  /** Date.now() in the child when it arrived. */
  at: number;
  path: string;
}

/** A running backend process. */
export interface BackendChild {
  readonly port: number;
  readonly url: string;
  readonly name: string;
  /** Requests seen so far (as far as its output has been read). */
  readonly seen: readonly ChildRequest[];
  /** SIGKILL and wait for the process to be gone. */
  kill(): Promise<void>;
}

/** Starts a backend process on `port` (0: any free port; pass the old port to restart "the same" server). */
export async function spawnBackend(name: string, port = 0, mode: "ok" | "503" = "ok", timeoutMs = 5000): Promise<BackendChild> {
  const proc = Bun.spawn([BUN, SCRIPT, String(port), name, mode], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const seen: ChildRequest[] = [];
  let bound = 0;
  let onBound: (() => void) | undefined;
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let buffered = "";
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const [kind, a, b] = line.split(" ");
        if (kind === "req") seen.push({ at: Number(a), path: b ?? "" });
        else if (kind === "listening") {
          bound = Number(a);
          onBound?.();
        }
      }
    }
  };
  void pump(proc.stdout);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend ${name} did not start within ${timeoutMs}ms`)), timeoutMs);
    onBound = () => (clearTimeout(timer), resolve());
    void proc.exited.then((code) => {
      clearTimeout(timer);
      if (bound === 0) reject(new Error(`backend ${name} exited with ${code} before listening on port ${port}`));
    });
  });
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    name,
    seen,
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

if (import.meta.main) {
  const [portArg = "0", name = "backend", mode = "ok"] = process.argv.slice(2);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: Number(portArg),
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      process.stdout.write(`req ${Date.now()} ${url.pathname}\n`);
      if (url.pathname === "/healthz") return new Response("ok");
      if (url.pathname === "/slow") await Bun.sleep(Number(url.searchParams.get("ms") ?? "500"));
      return new Response(name, { status: mode === "503" ? 503 : 200 });
    },
  });
  process.stdout.write(`listening ${server.port}\n`);
}
