/**
 * Socket options Bun's socket API does not offer, set through libc with bun:ffi on the socket's
 * `fd`. Used for SO_RCVBUF: Bun reads up to 512 KB per readable event (checked on 1.4.5: reads of
 * 524,288 bytes from a fast loopback sender), so the kernel's receive buffer bounds what one read
 * can bring into memory. Linux and macOS; elsewhere (or if libc cannot be opened) a no-op. And
 * SO_MEMINFO (Linux): how much room a socket's send buffer has (`hasSendRoom`).
 */
import { readFileSync } from "node:fs";
import process from "node:process";

const LIBC: Record<string, { path: string; solSocket: number; soRcvbuf: number }> = {
  linux: { path: "libc.so.6", solSocket: 1, soRcvbuf: 8 },
  darwin: { path: "libSystem.B.dylib", solSocket: 0xffff, soRcvbuf: 0x1002 },
};

type SetSockOpt = (fd: number, level: number, name: number, value: Uint8Array, length: number) => number;
let setsockopt: SetSockOpt | null | undefined;
/** getsockopt(fd, SOL_SOCKET, SO_MEMINFO) into `MEMINFO`; Linux only (null elsewhere). */
let readMeminfo: ((fd: number) => number) | null = null;
/** Linux's SO_MEMINFO: u32 counters, of which SK_MEMINFO_SNDBUF (3) and SK_MEMINFO_WMEM_QUEUED (5). */
const SO_MEMINFO = 55;
const MEMINFO = new Uint32Array(9);
const MEMINFO_LENGTH = new Uint32Array([MEMINFO.byteLength]);
/** The largest send buffer the kernel grows a TCP socket's to (tcp_wmem's third value). */
let sendBufferMax = Number.POSITIVE_INFINITY;

async function load(): Promise<SetSockOpt | null> {
  const libc = LIBC[process.platform];
  if (libc === undefined) return null;
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi");
    const lib = dlopen(libc.path, {
      setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
      getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    });
    if (process.platform === "linux") {
      sendBufferMax = tcpSendBufferMax();
      // ptr() on each call: a pointer taken once at load gave stale readings later (a small typed
      // array's storage can move when the collector runs).
      readMeminfo = (fd) => {
        MEMINFO_LENGTH[0] = MEMINFO.byteLength;
        return lib.symbols.getsockopt(fd, libc.solSocket, SO_MEMINFO, ptr(MEMINFO), ptr(MEMINFO_LENGTH));
      };
    }
    return (fd, level, name, value, length) => lib.symbols.setsockopt(fd, level, name, ptr(value), length);
  } catch {
    return null;
  }
}

/** tcp_wmem's maximum; infinite (never waits for room) when it cannot be read. */
function tcpSendBufferMax(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/tcp_wmem", "utf8").trim().split(/\s+/)[2]) || Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
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

/**
 * Whether the kernel would take `bytes` more on socket `fd` now without a short write: its send
 * buffer has that much room (or half its size, if smaller). True where it cannot tell, and while
 * the send buffer is below its maximum: the kernel grows a send buffer only after a write did not
 * fit, so waiting for room there would keep it small, and a far client's download with it
 * (test/pressure/send-buffer-growth.test.ts). On loopback a send buffer starts at the maximum; far
 * away it gets there once the transfer needs it.
 */
export function hasSendRoom(fd: number, bytes: number): boolean {
  if (readMeminfo === null || !(fd >= 0) || readMeminfo(fd) !== 0) return true;
  const sndbuf = MEMINFO[3]!;
  return sndbuf < sendBufferMax || sndbuf - MEMINFO[5]! >= Math.min(bytes, sndbuf >>> 1);
}
