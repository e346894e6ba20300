/**
 * systemd's readiness protocol (sd_notify): a datagram such as `READY=1` sent to the unix datagram
 * socket named by NOTIFY_SOCKET (a path, or `@name` for an abstract socket). Neither runtime has unix
 * datagram sockets (node:dgram has none, Bun.udpSocket is UDP only), so each sends through libc by
 * FFI (sd-notify-bun.ts, sd-notify-deno.ts); without FFI, the `systemd-notify` program is the
 * fallback (it sends from its own pid, hence `NotifyAccess=all` in the unit file).
 */
import { spawnSync } from "node:child_process";

/** AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, MSG_NOSIGNAL on Linux. */
export const AF_UNIX = 1;
export const SOCK_DGRAM_CLOEXEC = 2 | 0x80000;
export const MSG_NOSIGNAL = 0x4000;

/** The libc calls the FFI senders need, whatever the runtime. */
export interface DatagramLibc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, message: Uint8Array, address: Uint8Array, addressLength: number): number;
  close(fd: number): void;
}

/** `struct sockaddr_un` for `path` (`@x`: abstract) and its length; undefined when the path is too long. */
export function unixAddress(path: string): { bytes: Uint8Array; length: number } | undefined {
  const abstract = path.startsWith("@");
  const name = new TextEncoder().encode(abstract ? path.slice(1) : path);
  // sun_path is 108 bytes; a filesystem path needs its terminating NUL.
  if (name.length + 1 > 108) return undefined;
  const bytes = new Uint8Array(110);
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  bytes.set(name, abstract ? 3 : 2);
  return { bytes, length: abstract ? 3 + name.length : 2 + name.length + 1 };
}

/** Sends `state` to NOTIFY_SOCKET with `libc` (or systemd-notify); false when it could not. */
export function sendNotify(socketPath: string | undefined, state: string, libc: () => DatagramLibc | undefined): boolean {
  if (!socketPath) return false;
  const address = unixAddress(socketPath);
  const sys = address ? safely(libc) : undefined;
  if (sys && address) {
    const fd = sys.socket(AF_UNIX, SOCK_DGRAM_CLOEXEC, 0);
    if (fd >= 0) {
      const message = new TextEncoder().encode(state);
      const sent = sys.sendto(fd, message, address.bytes, address.length);
      sys.close(fd);
      if (sent === message.length) return true;
    }
  }
  const fallback = spawnSync("systemd-notify", state.split("\n"), { stdio: "ignore", timeout: 5000 });
  return fallback.status === 0;
}

function safely(libc: () => DatagramLibc | undefined): DatagramLibc | undefined {
  try {
    return libc();
  } catch {
    return undefined; // no FFI permission (Deno without --allow-ffi), or no libc.so.6
  }
}
