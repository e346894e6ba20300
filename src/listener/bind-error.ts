/**
 * Why a listener could not bind, said as HAProxy and Caddy say it: which listener, which address,
 * and the reason ("address already in use"). The runtimes say less: Bun `Failed to listen at
 * 127.0.0.1` (the reason only in `code`), Deno `Address already in use (os error 98)`.
 */

const REASONS: Record<string, string> = {
  EADDRINUSE: "address already in use (another process listens there; a second tenbin with the same config?)",
  AddrInUse: "address already in use (another process listens there; a second tenbin with the same config?)",
  EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
  PermissionDenied: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
  EADDRNOTAVAIL: "address not available (no interface of this machine has it)",
  AddrNotAvailable: "address not available (no interface of this machine has it)",
};

/** An Error naming the listener, its address and the reason `error` gives. */
export function bindError(listener: string, host: string, port: number, error: unknown): Error {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  const text = String(message ?? error);
  const reason = (typeof code === "string" && REASONS[code])
    || (typeof name === "string" && REASONS[name])
    || (/address already in use|is port \d+ in use/i.test(text) ? REASONS.EADDRINUSE! : text);
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Error(`listener "${listener}" cannot listen on ${address}: ${reason}`);
}
