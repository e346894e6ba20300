/**
 * One step of a byte relay between two connections (TCP listeners, upgraded tunnels): what one side
 * read goes to the other, and the reading side is paused while the other cannot take more. Before
 * a short write rather than after one where the kernel can say so (`TcpConn.room`): a read that
 * no longer fits leaves its rest in memory until a slow peer takes it (the rest of one read per
 * slow reader, ~42 KB on average in bench/pressure-slow-readers.ts), while a read not made waits
 * in the kernel.
 */
import type { TcpConn } from "../runtime/socket-types.ts";

/** Reads smaller than this are passed on without asking for room (interactive traffic: a syscall per chunk would cost more than a small rest). */
const ASK_ROOM_FROM = 16 * 1024;
/** Room asked for the next read: as much as this one, and at least this. */
const MIN_ROOM = 64 * 1024;

/**
 * Writes `chunk` (read from `from`) to `to`. A short write pauses `from` until `to` drains (the
 * caller resumes it on `to`'s drain); a write that went through but left no room for another read
 * like it pauses `from` until there is room, unless `closed()` by then. Either way `from` is read in
 * small pieces from then on (`TcpConn.limitReads`).
 */
export function relayChunk(chunk: Uint8Array, from: TcpConn, to: TcpConn, closed: () => boolean): void {
  if (!to.write(chunk)) {
    from.pause();
    from.limitReads();
    return;
  }
  if (chunk.byteLength < ASK_ROOM_FROM) return;
  const room = to.room(Math.max(chunk.byteLength, MIN_ROOM));
  if (room === undefined) return;
  from.pause();
  from.limitReads(); // the next read must fit in the room asked for
  void room.then(() => {
    if (!closed()) from.resume();
  });
}
