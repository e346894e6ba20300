/**
 * The ACME storage directory, safe for two tenbins sharing it (an active/standby or active/active
 * pair on a shared volume): one certificate per host name in ONE file (chain then key, so a reader
 * never pairs a new certificate with an old key), every file written to a temporary name and renamed
 * into place (a reader sees the old file or the new one, never half of one), keys and certificates
 * mode 0600 in a 0700 directory, and a lock file so one instance orders at a time.
 *
 *   <storage>/accounts/<sha of directory URL>.json   account key and URL (0600)
 *   <storage>/certificates/<sha of directory URL>/<host>.pem   chain, then private key (0600);
 *                                                     per CA, so moving from staging to production orders anew
 *   <storage>/challenges/<token>                      HTTP-01 answers, so either instance can answer
 *   <storage>/order.lock                              held while one instance orders
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { lazyBuiltin } from "../../util/lazy-builtin.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

/** A lock older than this was left by an instance that died mid-order (orders take seconds). */
export const LOCK_STALE_MS = 10 * 60_000;

/** An ACME account as stored. */
export interface StoredAccount {
  /** PEM private key of the account. */
  key: string;
  /** The account URL the CA gave, once registered. */
  url?: string | undefined;
}

/** A certificate as stored: the PEM chain and the PEM key. */
export interface StoredCertificate {
  file: string;
  chain: string;
  key: string;
}

const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
const KEY_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\s*/;

/** One storage directory. */
export class AcmeStorage {
  readonly dir: string;
  #lockTimer: ReturnType<typeof setInterval> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directories (0700); throws with the OS reason when it cannot. */
  prepare(): void {
    for (const sub of ["", "accounts", "certificates", "challenges"]) mkdirSync(join(this.dir, sub), { recursive: true, mode: 0o700 });
  }

  /** The file of `host`'s certificate from the CA at `directory`. */
  certificateFile(directory: string, host: string): string {
    return join(this.dir, "certificates", directoryId(directory), `${host.replace(/^\*/, "_")}.pem`);
  }

  /** The stored certificate of `host`, or undefined when there is none (or it is not whole). */
  readCertificate(directory: string, host: string): StoredCertificate | undefined {
    const file = this.certificateFile(directory, host);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
    const key = KEY_BLOCK.exec(text)?.[0];
    const chain = text.replace(KEY_BLOCK, "");
    if (!key || !chain.includes("-----BEGIN CERTIFICATE-----")) return undefined;
    return { file, chain: chain.trim() + "\n", key: key.trim() + "\n" };
  }

  /** Stores `host`'s certificate and key in one file, atomically, mode 0600. */
  writeCertificate(directory: string, host: string, chain: string, key: string): void {
    const file = this.certificateFile(directory, host);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeAtomic(file, `${chain.trim()}\n${key.trim()}\n`);
  }

  /** The account of `directory` (its key made here on first use), as stored. */
  readAccount(directory: string): StoredAccount | undefined {
    try {
      const parsed = JSON.parse(readFileSync(this.#accountFile(directory), "utf8")) as Partial<StoredAccount>;
      return typeof parsed.key === "string" ? { key: parsed.key, url: typeof parsed.url === "string" ? parsed.url : undefined } : undefined;
    } catch {
      return undefined;
    }
  }

  writeAccount(directory: string, account: StoredAccount): void {
    writeAtomic(this.#accountFile(directory), JSON.stringify({ directory, ...account }, null, 2));
  }

  /** Publishes an HTTP-01 answer where every instance sharing the storage can read it. */
  writeChallenge(token: string, keyAuthorization: string): void {
    if (TOKEN.test(token)) writeAtomic(join(this.dir, "challenges", token), keyAuthorization);
  }

  removeChallenge(token: string): void {
    if (TOKEN.test(token)) rmQuiet(join(this.dir, "challenges", token));
  }

  /** The HTTP-01 answer for `token` another instance (or this one) published; undefined when none. */
  readChallenge(token: string): string | undefined {
    if (!TOKEN.test(token)) return undefined;
    try {
      return readFileSync(join(this.dir, "challenges", token), "utf8");
    } catch {
      return undefined;
    }
  }

  /**
   * Takes the order lock; false when another live instance holds it. A lock whose holder died (its
   * pid gone on this host, or not touched for LOCK_STALE_MS) is taken over.
   */
  tryLock(now = Date.now()): boolean {
    const file = join(this.dir, "order.lock");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, "wx", 0o600);
        writeFileSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date(now).toISOString() }));
        closeSync(fd);
        // Touched while held, so a long order is not mistaken for a dead one.
        this.#lockTimer = setInterval(() => touchQuiet(file), LOCK_STALE_MS / 4);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw error;
        if (!isStale(file, now)) return false;
        rmQuiet(file);
      }
    }
    return false;
  }

  unlock(): void {
    clearInterval(this.#lockTimer);
    this.#lockTimer = undefined;
    rmQuiet(join(this.dir, "order.lock"));
  }

  #accountFile(directory: string): string {
    return join(this.dir, "accounts", `${directoryId(directory)}.json`);
  }
}

/** A short stable name for a CA's directory URL. */
function directoryId(directory: string): string {
  return nodeCrypto().createHash("sha256").update(directory).digest("hex").slice(0, 16);
}

function isStale(file: string, now: number): boolean {
  try {
    const age = now - statSync(file).mtimeMs;
    if (age > LOCK_STALE_MS) return true;
    const holder = JSON.parse(readFileSync(file, "utf8")) as { pid?: number; host?: string };
    if (holder.host !== hostname() || typeof holder.pid !== "number") return false;
    try {
      process.kill(holder.pid, 0);
      return false;
    } catch (error) {
      return (error as { code?: string }).code === "ESRCH";
    }
  } catch {
    // Vanished meanwhile (free now), or half-written by its holder this instant (not stale).
    return !fileExists(file);
  }
}

/** Writes `text` to a temporary file beside `file` (mode 0600), then renames it into place. */
export function writeAtomic(file: string, text: string): void {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  try {
    renameSync(temp, file);
  } catch (error) {
    rmQuiet(temp);
    throw error;
  }
}

function fileExists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function touchQuiet(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // Removed by unlock meanwhile.
  }
}

function rmQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}
