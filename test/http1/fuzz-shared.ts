// The shared half of the differential fuzzers (fuzz-requests.ts, fuzz-answers.ts): case and
// reading shapes, the seeded PRNG, mutation material, the llhttp oracle (one `node` process, see
// llhttp-oracle.cjs) and the campaign loop.
import type { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { seededRandom } from "../../src/util/clock.ts";

/** One message as a parser read it. */
export interface FuzzMessage {
  method: string;
  target: string;
  minor: number;
  headers: [string, string][];
  body: string;
  keepAlive: boolean;
}

/** What a parser made of one case: complete messages and how it stopped. */
export interface FuzzSide {
  messages: FuzzMessage[];
  /** ok: all read; incomplete: waiting for more bytes; error: refused; closed: stopped after a message that closes. */
  status: "ok" | "incomplete" | "error" | "closed" | "upgrade";
  error?: string | undefined;
}

/** One generated case. */
export interface FuzzCase {
  id: number;
  bytes: Buffer;
  /** Where tenbin's reader gets a new read (byte offsets, ascending). */
  splits: number[];
  /** The mutations applied, for the report. */
  mutations: string[];
}

/** A deterministic PRNG (mulberry32, util/clock.ts), so a seed replays a campaign. */
export const prng = seededRandom;

/** Mutation material. */
export const SPACES = [" ", "\t", "\x0b", "\x0c", "\xa0", "\x85", "\r", "\n", "\0", "  ", "\x1f", "\x7f"];
/** Mutation material. */
export const ODD_BYTES = ["\0", "\x01", "\x08", "\x0b", "\x0c", "\r", "\n", "\x1b", "\x7f", "\x80", "\xa0", "\xc3\xa9", "\xff", '"', "\\", ";", ",", "=", ":", " ", "\t"];
/** Mutation material. */
export const EXTENSIONS = [";a", ";a=b", ';a="b c"', ";a=b;c", ' ;a', ";a =b", ';a="\\""', ";", ";a=", ';a="b', ";a\nb", ";a\rb", ";a=b c", ";\x01", ";a=\xff", ';a="\x7f"'];
/** Mutation material. */
export const TRAILERS = ["X-T: 1", "Content-Length: 4", "Transfer-Encoding: chunked", "Host: evil", "GET /SMUGGLED HTTP/1.1", " folded", "X : 1", "X: a\x0bb", "X:", ":x"];
/** Mutation material. */
export const CODINGS = ["chunked", "Chunked", "CHUNKED", "gzip, chunked", "chunked, gzip", "chunked, chunked", ",chunked", "chunked,", "identity", "chunked;q=1", "chunked\x0b", "\x0bchunked", "chunked\xa0", " chunked ", "\tchunked"];
/** Mutation material. */
export const LENGTHS = ["5", "05", " 5", "5 ", "+5", "-5", "5,5", "5, 5", "0x5", "5\x0b", "\x0c5", "\xa05", "99999999999999999999", "", "4", "6"];

/** A class of cases where tenbin accepts what llhttp refuses, with the reason that is fine. */
export interface Justified {
  name: string;
  why: string;
  /** Whether a case belongs to the class: llhttp's error and the bytes it refused. */
  applies(llhttpError: string, input: string): boolean;
}

/** How one case came out. */
export type Verdict = { kind: "agree" } | { kind: "stricter"; tenbin: string } | { kind: "justified"; name: string } | { kind: "mismatch"; why: string };

/** The llhttp side: one node process answering cases in order. */
export class LlhttpOracle {
  readonly #child;
  readonly #waiting = new Map<number, (side: FuzzSide) => void>();

  constructor(script = new URL("./llhttp-oracle.cjs", import.meta.url).pathname) {
    this.#child = spawn("node", ["--no-deprecation", script], { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.#child.stdout! }).on("line", (line) => {
      const answer = JSON.parse(line) as { id: number; messages: (FuzzMessage & { url: string; status: number; complete: boolean })[]; status: FuzzSide["status"]; error?: string };
      const complete = answer.messages
        .filter((m) => m.complete)
        .map((m) => ({ method: m.status > 0 ? String(m.status) : m.method, target: m.url, minor: m.minor, headers: m.headers, body: m.body, keepAlive: m.keepAlive }));
      this.#waiting.get(answer.id)?.({ messages: complete, status: answer.status, error: answer.error });
      this.#waiting.delete(answer.id);
    });
  }

  /** llhttp's reading of `fuzz` (as requests, or as answers ended by the server's close). */
  read(fuzz: FuzzCase, kind: "request" | "response" = "request"): Promise<FuzzSide> {
    return new Promise((resolve) => {
      this.#waiting.set(fuzz.id, resolve);
      this.#child.stdin!.write(`${JSON.stringify({ id: fuzz.id, data: fuzz.bytes.toString("base64"), kind })}\n`);
    });
  }

  close(): void {
    this.#child.stdin!.end();
  }
}

/** What a campaign found. */
export interface CampaignReport {
  cases: number;
  agree: number;
  stricter: number;
  justified: Record<string, number>;
  mismatches: { id: number; why: string; input: string; mutations: string[] }[];
}

/**
 * Runs `cases` through tenbin (`tenbin`, at once) and llhttp (as `kind`), `batch` in flight at a
 * time, and tallies `compare`'s verdicts.
 */
export async function runDifferential(
  cases: Iterable<FuzzCase>,
  kind: "request" | "response",
  tenbin: (fuzz: FuzzCase) => FuzzSide,
  compare: (fuzz: FuzzCase, tenbin: FuzzSide, llhttp: FuzzSide) => Verdict,
  batch = 500,
): Promise<CampaignReport> {
  const oracle = new LlhttpOracle();
  const report: CampaignReport = { cases: 0, agree: 0, stricter: 0, justified: {}, mismatches: [] };
  try {
    let pending: Promise<void>[] = [];
    for (const fuzz of cases) {
      const ours = tenbin(fuzz);
      pending.push(
        oracle.read(fuzz, kind).then((llhttp) => {
          const verdict = compare(fuzz, ours, llhttp);
          report.cases++;
          if (verdict.kind === "agree") report.agree++;
          else if (verdict.kind === "stricter") report.stricter++;
          else if (verdict.kind === "justified") report.justified[verdict.name] = (report.justified[verdict.name] ?? 0) + 1;
          else report.mismatches.push({ id: fuzz.id, why: verdict.why, input: JSON.stringify(fuzz.bytes.toString("latin1")), mutations: fuzz.mutations });
        }),
      );
      if (pending.length >= batch) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);
  } finally {
    oracle.close();
  }
  return report;
}
