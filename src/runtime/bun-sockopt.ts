/**
 * Socket options Bun's socket API does not offer, set through libc with bun:ffi on the socket's
 * `fd`. Used for SO_RCVBUF: Bun reads up to 512 KB per readable event (checked on 1.4.5: reads of
 * 524,288 bytes from a fast loopback sender), so the kernel's receive buffer bounds what one read
 * can bring into memory. Linux and macOS; elsewhere (or if libc cannot be opened) a no-op.
 */
import process from "node:process";

const LIBC: Record<string, { path: string; solSocket: number; soRcvbuf: number }> = {
  linux: { path: "libc.so.6", solSocket: 1, soRcvbuf: 8 },
  darwin: { path: "libSystem.B.dylib", solSocket: 0xffff, soRcvbuf: 0x1002 },
};

type SetSockOpt = (fd: number, level: number, name: number, value: Uint8Array, length: number) => number;
let setsockopt: SetSockOpt | null | undefined;

async function load(): Promise<SetSockOpt | null> {
  const libc = LIBC[process.platform];
  if (libc === undefined) return null;
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    const lib = dlopen(libc.path, { setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 } });
    return (fd, level, name, value, length) => lib.symbols.setsockopt(fd, level, name, ptr(value), length);
  } catch {
    return null;
  }
}

/** Loads libc's setsockopt once (at start, so the hot path never awaits it). */
export async function loadSockopt(): Promise<void> {
  setsockopt ??= await load();
}

/** Sets SO_RCVBUF of socket `fd` to `bytes` (the kernel doubles it for its bookkeeping); false if it could not. */
export function setReceiveBuffer(fd: number, bytes: number): boolean {
  const libc = LIBC[process.platform];
  if (!setsockopt || libc === undefined || !(fd >= 0)) return false;
  const value = new Uint8Array(4);
  new DataView(value.buffer).setInt32(0, bytes, true);
  return setsockopt(fd, libc.solSocket, libc.soRcvbuf, value, 4) === 0;
}
