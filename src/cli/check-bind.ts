/**
 * What `tenbin check` tells about binding on this host: a listener on a specific address this host
 * does not have fails to bind, unless the kernel allows non-local binds. In a keepalived pair that
 * is the standby's normal state (the virtual address is on the other node), so tenbin there would
 * not start; the fix is `net.ipv4.ip_nonlocal_bind=1` (IPv6: `net.ipv6.ip_nonlocal_bind=1`) or a
 * wildcard listen address. Warnings, not errors: a config is often checked on another machine.
 */
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { Config } from "../config/schema.ts";

/** What the check needs to know of the host. */
export interface BindFacts {
  /** Addresses on this host's interfaces (this network namespace's). */
  local: ReadonlySet<string>;
  nonlocalBind4: boolean;
  nonlocalBind6: boolean;
}

/** The facts of this host; undefined where they cannot be read (not Linux). */
export function hostBindFacts(): BindFacts | undefined {
  if (process.platform !== "linux") return undefined;
  const local = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) local.add(a.address);
  return { local, nonlocalBind4: sysctlOn("/proc/sys/net/ipv4/ip_nonlocal_bind"), nonlocalBind6: sysctlOn("/proc/sys/net/ipv6/ip_nonlocal_bind") };
}

/** One warning per listener (and the admin listener) bound to an address `facts` say cannot be bound now. */
export function bindWarnings(config: Config, facts: BindFacts): string[] {
  const binds = [...config.listeners.map((l) => ({ what: `listener ${JSON.stringify(l.name)}`, ...l.listen })), ...(config.admin.enabled ? [{ what: "the admin listener", ...config.admin.listen }] : [])];
  const warnings: string[] = [];
  for (const { what, host, port } of binds) {
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
    const v6 = host.includes(":");
    if ((!v4 && !v6) || host === "0.0.0.0" || host === "::" || facts.local.has(host)) continue;
    if (v4 ? facts.nonlocalBind4 : facts.nonlocalBind6) continue;
    const key = v4 ? "net.ipv4.ip_nonlocal_bind" : "net.ipv6.ip_nonlocal_bind";
    const wildcard = v4 ? `0.0.0.0:${port}` : `[::]:${port}`;
    warnings.push(`${what} listens on ${v6 ? `[${host}]` : host}:${port}, an address this host does not have, so it cannot bind until the address arrives (on a keepalived standby: never); set ${key}=1 (sysctl -w ${key}=1, and a file in /etc/sysctl.d/ to keep it) or listen on ${wildcard}`);
  }
  return warnings;
}

function sysctlOn(path: string): boolean {
  try {
    return readFileSync(path, "utf8").trim() === "1";
  } catch {
    return false;
  }
}
