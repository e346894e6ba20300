/**
 * What the admin plane shows of the certificates tenbin serves (metrics, dashboard, status), and the
 * warning every served certificate gets two weeks before it expires.
 */

/** One certificate a listener serves, or one ACME host still waiting for its first certificate. */
export interface CertificateStatus {
  listener: string;
  /** The host name it is served for (the first of its names). */
  host: string;
  source: "file" | "acme";
  /** When it expires (ms since the epoch); undefined while an ACME host has none yet. */
  notAfter: number | undefined;
  /** Failed ACME orders for this host since start (0 for files). */
  orderFailures: number;
}

/** Certificates expiring sooner than this are warned about, in `tenbin check` and in the log. */
export const EXPIRY_WARNING_MS = 14 * 86_400_000;

/** Whole days left before `notAfter` (negative once expired). */
export function daysLeft(notAfter: number, now: number): number {
  return Math.floor((notAfter - now) / 86_400_000);
}

/** The warning for a certificate expiring within EXPIRY_WARNING_MS; undefined otherwise (or when already expired). */
export function expiryWarning(what: string, notAfter: Date, now: number): string | undefined {
  const left = notAfter.getTime() - now;
  if (left < 0 || left >= EXPIRY_WARNING_MS) return undefined;
  const days = daysLeft(notAfter.getTime(), now);
  const when = days < 1 ? "in less than a day" : `in ${days} day${days === 1 ? "" : "s"}`;
  return `${what} expires ${when} (${notAfter.toISOString()}); renew it`;
}
