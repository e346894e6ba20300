/** Small text helpers of the admin plane. */
import type { Address } from "../config/units.ts";

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** A Prometheus label value: backslash, double quote and newline escaped. */
export function labelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
