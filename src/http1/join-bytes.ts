/**
 * Joins bytes kept from earlier reads with the bytes of a new one without copying the kept ones
 * again each time: the join lands in a buffer with room to spare, and the next join appends there.
 * A head arriving one byte per read then costs O(n) copying, not the O(n²) of `Buffer.concat`.
 */
import { Buffer } from "node:buffer";

/** Buffers made here, and how far each is filled; bytes past that are free to append to. */
const FILLED = new WeakMap<ArrayBufferLike, number>();
/** The smallest buffer made for a join. */
const MIN_JOIN = 1024;

/**
 * `kept` followed by `chunk`, as one buffer. `kept` must be the tail of what an earlier call
 * returned (or any bytes); nothing of it is overwritten, so views of earlier results stay valid.
 */
export function joinBytes(kept: Buffer, chunk: Uint8Array): Buffer {
  const store = kept.buffer;
  const filled = FILLED.get(store);
  const keptEnd = kept.byteOffset + kept.byteLength;
  if (filled === keptEnd && keptEnd + chunk.byteLength <= store.byteLength) {
    new Uint8Array(store, keptEnd, chunk.byteLength).set(chunk);
    FILLED.set(store, keptEnd + chunk.byteLength);
    return Buffer.from(store, kept.byteOffset, kept.byteLength + chunk.byteLength);
  }
  const total = kept.byteLength + chunk.byteLength;
  // Room for as many bytes again as were kept, so a run of small reads copies each byte about
  // twice in all, and a large read after a few kept bytes wastes little. Not from Buffer's shared
  // pool: the room after the bytes must be ours alone.
  const joined = Buffer.allocUnsafeSlow(total + Math.max(MIN_JOIN, kept.byteLength));
  joined.set(kept, 0);
  joined.set(chunk, kept.byteLength);
  FILLED.set(joined.buffer, total);
  return joined.subarray(0, total);
}
