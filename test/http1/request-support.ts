// Feeds requests to the codec's RequestReader as the own server does (answering each at once) and
// records what it read, so a test can check every split of the input gives the same result.
import { Buffer } from "node:buffer";
import { BadRequestError } from "../../src/http1/request-head.ts";
import { RequestReader } from "../../src/http1/request-reader.ts";

/** One request as read. */
export interface ReadRequest {
  method: string;
  target: string;
  fields: [string, string][];
  body: string;
  /** Whether its body ended (or it had none). */
  complete: boolean;
}

/** What the reader made of some bytes. */
export interface ReadOutcome {
  requests: ReadRequest[];
  /** The refusal's status and message, when there was one. */
  error: { status: number; message: string } | undefined;
  /** Bytes left unread at the end (a part of a request still to come). */
  kept: number;
  /** Bytes searched for the ends of heads. */
  scanned: number;
}

/** The request head size limit the tests use (the server's default). */
export const TEST_MAX_HEAD = 16 * 1024;

/** Feeds `parts` in order into a fresh reader. */
export function readParts(parts: Uint8Array[], maxHead = TEST_MAX_HEAD): ReadOutcome {
  const out: ReadOutcome = { requests: [], error: undefined, kept: 0, scanned: 0 };
  const bodies: Buffer[] = [];
  let current: ReadRequest | undefined;
  const done = () => {
    current!.body = Buffer.concat(bodies).toString("latin1");
    current!.complete = true;
    bodies.length = 0;
    reader.next();
  };
  const reader: RequestReader = new RequestReader(
    {
      requestHead(head, hasBody) {
        current = { method: head.method, target: head.target, fields: head.fields.pairs().map(([n, v]) => [n, v]), body: "", complete: false };
        out.requests.push(current);
        if (!hasBody) done();
      },
      requestBody: (chunk) => bodies.push(Buffer.from(chunk)),
      requestEnd: () => done(),
    },
    maxHead,
  );
  try {
    for (const part of parts) reader.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  } catch (error) {
    if (!(error instanceof BadRequestError)) throw error;
    out.error = { status: error.status, message: error.message };
  }
  if (current !== undefined && !current.complete) current.body = Buffer.concat(bodies).toString("latin1");
  out.kept = reader.keptBytes;
  out.scanned = reader.scanned;
  return out;
}

/** `text` as Latin-1 bytes. */
export const latin1 = (text: string): Buffer => Buffer.from(text, "latin1");

/** Every way of feeding `text` the tests use: whole, split once at each byte, and byte by byte. */
export function everySplit(text: string): Uint8Array[][] {
  const b = latin1(text);
  const all: Uint8Array[][] = [[b]];
  for (let i = 1; i < b.length; i++) all.push([b.subarray(0, i), b.subarray(i)]);
  all.push([...b].map((x) => Uint8Array.of(x)));
  return all;
}

/** Reads `text` every way; every way must give what reading it whole gives (apart from work done). Returns that. */
export function readEveryWay(text: string): Omit<ReadOutcome, "scanned"> {
  const { scanned: _, ...whole } = readParts([latin1(text)]);
  for (const parts of everySplit(text)) {
    const { scanned: __, ...split } = readParts(parts);
    if (JSON.stringify(split) !== JSON.stringify(whole)) {
      throw new Error(`split at ${parts.map((p) => p.byteLength).join("+")} differs: ${JSON.stringify(split)} vs ${JSON.stringify(whole)}`);
    }
  }
  return whole;
}
