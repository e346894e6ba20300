/** sd_notify on Bun: libc's socket/sendto through bun:ffi (see sd-notify.ts). */
import { dlopen, FFIType, ptr } from "bun:ffi";
import type { DatagramLibc } from "./sd-notify.ts";

let opened: DatagramLibc | undefined;

/** libc's datagram calls, opened on first use. */
export function bunDatagramLibc(): DatagramLibc {
  if (opened) return opened;
  const { symbols } = dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
  });
  opened = {
    socket: (domain, type, protocol) => symbols.socket(domain, type, protocol),
    sendto: (fd, message, address, length) => Number(symbols.sendto(fd, ptr(message), message.length, 0x4000, ptr(address), length)),
    close: (fd) => void symbols.close(fd),
  };
  return opened;
}
