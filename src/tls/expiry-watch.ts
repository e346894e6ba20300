/**
 * Looks at the served certificate files twice a day and logs those within two weeks of expiry, so a
 * long-running tenbin warns in time, not only at start and reload. ACME certificates are renewed by
 * tenbin itself; a failed renewal is logged where it fails (acme/manager.ts).
 */
import type { Logger } from "../observe/log.ts";
import { type CertificateStatus, expiryWarning } from "./cert-status.ts";

/** How often the served certificates are looked at. */
export const EXPIRY_CHECK_MS = 12 * 3_600_000;

/** Logs the expiry warnings of `list()` now and every `everyMs`; returns a stop function. */
export function watchExpiry(list: () => readonly CertificateStatus[], logger: Logger, everyMs = EXPIRY_CHECK_MS, now: () => number = Date.now): () => void {
  const check = () => {
    for (const c of list()) {
      if (c.source !== "file" || c.notAfter === undefined) continue;
      const warning = expiryWarning(`certificate of ${c.host}`, new Date(c.notAfter), now());
      if (warning) logger.warn(`listener ${c.listener}: ${warning}`);
    }
  };
  const timer = setInterval(check, everyMs);
  // A timer must not keep a stopping process alive.
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
