/**
 * `tls.acme` of a listener: certificates from an ACME CA (RFC 8555) instead of files. Kept apart
 * from schema.ts so the ACME keys read in one place.
 */
import { z } from "zod";
import { parseDuration } from "./units.ts";

/** Let's Encrypt's directories, by the short names the `directory` key also takes. */
export const ACME_DIRECTORIES: Readonly<Record<string, string>> = {
  letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
};

/** The `acme` section of a listener's `tls`. */
export const acmeSchema = z.strictObject({
  email: z.string().regex(/^[^\s@]+@[^\s@]+$/, { message: "expected an email address such as ops@example.com" }).optional()
    .describe("Contact address of the ACME account (the CA mails expiry notices to it); optional for Let's Encrypt"),
  directory: z.string().default("letsencrypt").transform((value) => ACME_DIRECTORIES[value] ?? value)
    .describe("The CA's directory URL, or letsencrypt (production, the default) or letsencrypt-staging (for trials: its certificates are not trusted, its rate limits are loose)"),
  ca_file: z.string().min(1).optional().describe("PEM file of the CA that signs the directory's HTTPS certificate (a private CA such as step-ca or pebble); default the system's"),
  domains: z.array(z.string().min(1)).min(1).optional()
    .describe("Host names to get certificates for (one each); default the exact host names of the listener's routes"),
  storage: z.string().min(1).default("/var/lib/tenbin/acme")
    .describe("Directory of the account key and certificates; two tenbins may share it (a lock file lets one order at a time). Created with mode 0700; keys are written 0600"),
  retry_after: z.string().default("1m").transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0) {
      ctx.addIssue({ code: "custom", message: `bad duration "${text}"; expected a number with a unit such as 30s or 1m` });
      return z.NEVER;
    }
    return ms;
  }).describe("First wait after a failed order; it doubles on each failure up to 1 day"),
});

export type AcmeConfig = z.output<typeof acmeSchema>;
