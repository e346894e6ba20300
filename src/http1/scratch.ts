/**
 * One buffer in which the HTTP/1.1 writers put a message together (head and a short body) before
 * its one write, instead of a new buffer per message: on Bun 1.4.5 that allocation cost ~0.8 µs
 * per proxied 1 KB request, mostly in the garbage collector (in-process A/B, 2026-11-26). Sharing
 * it is safe because it is filled and handed to `TcpConn.writeBorrowed` in one synchronous step,
 * and that copies whatever the kernel does not take at once.
 */
import { Buffer } from "node:buffer";
import type { HeaderMap } from "../http/message.ts";
import { headerLines, writeHeaderLines } from "./header-list.ts";

/** The scratch's size: a 64 KiB body (the writers' copy limit) and its head fit. */
const SCRATCH_BYTES = 128 * 1024;

/** The scratch; its contents are valid only until the next `compose`. */
export const SCRATCH: Buffer = Buffer.allocUnsafeSlow(SCRATCH_BYTES);

/**
 * Puts a head into `SCRATCH`: `first`, the header lines of `headers` minus the names in `skip` (a
 * received block copied as the bytes it came in, `writeHeaderLines`), `mid` and `last` (Latin-1
 * text each). Returns its length in bytes, or -1 when it does not fit with `reserve` bytes after it
 * (for the body the caller puts there; otherwise the caller writes them its own way, `headText`).
 */
export function composeHead(first: string, headers: HeaderMap, skip: ReadonlySet<string>, mid: string, last: string, reserve = 0): number {
  const after = mid.length + last.length + reserve;
  if (first.length + after > SCRATCH_BYTES) return -1;
  let n = SCRATCH.write(first, 0, "latin1");
  n = writeHeaderLines(SCRATCH, n, headers, skip, SCRATCH_BYTES - after);
  if (n < 0) return -1;
  if (mid.length > 0) n += SCRATCH.write(mid, n, "latin1");
  return n + SCRATCH.write(last, n, "latin1");
}

/** The head `composeHead` writes, as text (for one that does not fit in `SCRATCH`). */
export function headText(first: string, headers: HeaderMap, skip: ReadonlySet<string>, mid: string, last: string): string {
  return first + headerLines(headers, skip) + mid + last;
}
