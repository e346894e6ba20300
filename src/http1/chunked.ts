/**
 * The chunked transfer coding's writing side (RFC 9112 §7.1): one chunk with its size line and
 * CRLF, and the last chunk with an empty trailer section. The reading side is `BodyDecoder`.
 */
import { Buffer } from "node:buffer";

/** The line that ends a chunk's data. */
export const CHUNK_END: Buffer = Buffer.from("\r\n");
/** The last chunk and the empty trailer section that end a chunked body. */
export const LAST_CHUNK: Buffer = Buffer.from("0\r\n\r\n");

/** The size line of a chunk of `size` bytes (`size` > 0: a zero would end the body). */
export function chunkSizeLine(size: number): Buffer {
  return Buffer.from(`${size.toString(16)}\r\n`, "latin1");
}

/** `data` as one chunk (size line, data, CRLF) in one buffer; `data` must not be empty. */
export function encodeChunk(data: Uint8Array): Buffer {
  return Buffer.concat([chunkSizeLine(data.byteLength), data, CHUNK_END]);
}
