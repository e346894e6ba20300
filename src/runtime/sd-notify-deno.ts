/** sd_notify on Deno: libc's socket/sendto through Deno.dlopen (needs --allow-ffi; see sd-notify.ts). */
import type { DatagramLibc } from "./sd-notify.ts";

interface DenoFfi {
  dlopen(path: string, symbols: Record<string, { parameters: string[]; result: string }>): {
    symbols: {
      socket(domain: number, type: number, protocol: number): number;
      sendto(fd: number, message: Uint8Array, length: bigint, flags: number, address: Uint8Array, addressLength: number): bigint;
      close(fd: number): number;
    };
  };
}

let opened: DatagramLibc | undefined;

/** libc's datagram calls, opened on first use; throws without FFI permission. */
export function denoDatagramLibc(): DatagramLibc {
  if (opened) return opened;
  const D = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const { symbols } = D.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  opened = {
    socket: (domain, type, protocol) => symbols.socket(domain, type, protocol),
    sendto: (fd, message, address, length) => Number(symbols.sendto(fd, message, BigInt(message.length), 0x4000, address, length)),
    close: (fd) => void symbols.close(fd),
  };
  return opened;
}
