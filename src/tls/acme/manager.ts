/**
 * Certificates from ACME for the listeners with `tls.acme`: one certificate per host name, served
 * from storage at once when there, ordered when missing, renewed at about two thirds of its
 * lifetime (with jitter, so a fleet does not renew in one minute), retried with doubling waits on
 * failure. A new certificate is handed to the composition root, which swaps it in on a new socket
 * beside the old one (no connection dropped). Until a host has its first certificate, its listener
 * serves a self-signed placeholder.
 */
import type { AcmeConfig } from "../../config/schema-acme.ts";
import type { AnyListenerConfig } from "../../config/schema.ts";
import type { Logger } from "../../observe/log.ts";
import type { Random } from "../../util/clock.ts";
import type { LoadedCertificate } from "../certificates.ts";
import { type CertificateStatus, expiryWarning } from "../cert-status.ts";
import { orderCertificate, placeholderCertificate } from "./order.ts";
import { AcmeStorage } from "./storage.ts";
import { acmeDomains, hostKey, toLoaded } from "./hosts.ts";

/** Longest wait between two failed orders. */
const MAX_RETRY_MS = 86_400_000;
/** Wait before looking again when another instance holds the order lock. */
const LOCK_WAIT_MS = 2_000;

interface Host {
  name: string;
  config: AcmeConfig;
  storage: AcmeStorage;
  listeners: Set<string>;
  certificate: LoadedCertificate | undefined;
  orderFailures: number;
  /** Consecutive failures, for the backoff. */
  streak: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped when the host is dropped: a late order result is then ignored. */
  generation: number;
}

/** What the manager needs from outside. */
export interface AcmeManagerDeps {
  logger: Logger;
  random?: Random;
  now?: () => number;
  /** A certificate of `listener` changed (obtained, renewed, or found in storage). */
  onChange(listener: string): void;
}

/** The ACME certificates of every listener that asks for them. */
export class AcmeManager {
  readonly #deps: AcmeManagerDeps;
  readonly #hosts = new Map<string, Host>();
  /** HTTP-01 answers of orders of this instance, by token. */
  readonly #answers = new Map<string, string>();
  readonly #storages = new Map<string, AcmeStorage>();
  #placeholder: LoadedCertificate | undefined;
  /** One order at a time per process (the lock file serialises across processes). */
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Hosts added by the last sync, whose first order or renewal waits for `startOrders()`. */
  #fresh: Host[] = [];

  constructor(deps: AcmeManagerDeps) {
    this.#deps = deps;
  }

  /** True when some listener of the config in force uses ACME. */
  get active(): boolean {
    return this.#hosts.size > 0;
  }

  /**
   * Matches the hosts to `listeners`: loads what storage has (so it is served at once), schedules
   * orders and renewals, forgets hosts no longer named. Call before binding the listeners.
   */
  async sync(listeners: readonly AnyListenerConfig[]): Promise<void> {
    const wanted = new Map<string, { name: string; config: AcmeConfig; listeners: Set<string> }>();
    for (const l of listeners) {
      const config = l.mode !== "udp" ? l.tls?.acme : undefined;
      if (!config) continue;
      for (const name of acmeDomains(l)) {
        const key = hostKey({ name, config });
        const entry = wanted.get(key) ?? { name, config, listeners: new Set<string>() };
        entry.listeners.add(l.name);
        wanted.set(key, entry);
      }
    }
    for (const [key, host] of this.#hosts) {
      if (wanted.has(key)) continue;
      clearTimeout(host.timer);
      host.generation++;
      this.#hosts.delete(key);
    }
    for (const [key, want] of wanted) {
      let host = this.#hosts.get(key);
      if (host) {
        host.config = want.config;
        host.listeners = want.listeners;
        continue;
      }
      host = { name: want.name, config: want.config, storage: this.#storage(want.config.storage), listeners: want.listeners, certificate: undefined, orderFailures: 0, streak: 0, timer: undefined, generation: 0 };
      this.#hosts.set(key, host);
      try {
        host.storage.prepare();
      } catch (error) {
        this.#deps.logger.error(`acme: cannot use storage directory ${JSON.stringify(host.storage.dir)}: ${(error as Error).message}`);
      }
      host.certificate = this.#fromStorage(host);
      if (host.certificate) this.#deps.logger.info(`acme: ${host.name}: certificate from storage, valid until ${host.certificate.notAfter.toISOString()}`);
      this.#fresh.push(host);
    }
    if ([...this.#hosts.values()].some((h) => !h.certificate)) this.#placeholder ??= await this.#makePlaceholder();
  }

  /**
   * Schedules the orders and renewals of the hosts the last sync added. Called once the listeners
   * are bound: the CA's HTTP-01 request must find the plain listener up.
   */
  startOrders(): void {
    for (const host of this.#fresh.splice(0)) {
      if (this.#hosts.get(hostKey(host)) === host) this.#schedule(host, host.certificate ? this.#renewDelay(host.certificate) : 0);
    }
  }

  /**
   * What `listener` serves: its hosts' certificates, or a self-signed placeholder while none has
   * one yet (a TLS socket needs a certificate to bind).
   */
  certificatesFor(listener: string): LoadedCertificate[] {
    const out: LoadedCertificate[] = [];
    for (const host of this.#hosts.values()) if (host.listeners.has(listener) && host.certificate) out.push(host.certificate);
    if (out.length === 0 && this.#placeholder) out.push(this.#placeholder);
    return out;
  }

  /** Per host: expiry and failed orders, for metrics and the dashboard. */
  status(): CertificateStatus[] {
    return [...this.#hosts.values()].flatMap((h) => [...h.listeners].map((listener) => ({
      listener, host: h.name, source: "acme" as const, notAfter: h.certificate?.notAfter.getTime(), orderFailures: h.orderFailures,
    })));
  }

  /**
   * The HTTP-01 answer for a request path `/.well-known/acme-challenge/<token>`, from this
   * instance's orders or from the storage (another instance's order); undefined when none.
   */
  challengeAnswer(token: string): string | undefined {
    const own = this.#answers.get(token);
    if (own !== undefined) return own;
    for (const storage of this.#storages.values()) {
      const shared = storage.readChallenge(token);
      if (shared !== undefined) return shared;
    }
    return undefined;
  }

  stop(): void {
    this.#stopped = true;
    for (const host of this.#hosts.values()) clearTimeout(host.timer);
  }

  #storage(dir: string): AcmeStorage {
    let storage = this.#storages.get(dir);
    if (!storage) this.#storages.set(dir, (storage = new AcmeStorage(dir)));
    return storage;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** About two thirds into the lifetime, give or take 5% of it. */
  #renewDelay(cert: LoadedCertificate): number {
    const start = cert.notBefore.getTime();
    const life = cert.notAfter.getTime() - start;
    const jitter = ((this.#deps.random ?? Math.random)() - 0.5) * 0.1 * life;
    return Math.max(0, start + (life * 2) / 3 + jitter - this.#now());
  }

  #schedule(host: Host, delayMs: number): void {
    clearTimeout(host.timer);
    if (this.#stopped) return;
    const generation = host.generation;
    // setTimeout holds at most ~24.8 days: a longer wait is taken in steps.
    const step = Math.min(delayMs, 2 ** 31 - 1);
    host.timer = setTimeout(() => {
      if (generation !== host.generation) return;
      if (step < delayMs) return this.#schedule(host, delayMs - step);
      this.#queue = this.#queue.then(() => this.#renew(host, generation));
    }, step);
  }

  async #renew(host: Host, generation: number): Promise<void> {
    if (this.#stopped || generation !== host.generation) return;
    const { logger } = this.#deps;
    // Another instance sharing the storage may have renewed it meanwhile.
    const stored = this.#fromStorage(host);
    if (stored && this.#renewDelay(stored) > 0) {
      if (stored.notAfter.getTime() !== host.certificate?.notAfter.getTime()) this.#install(host, stored, "from storage (another instance renewed it)");
      return this.#schedule(host, this.#renewDelay(stored));
    }
    let locked: boolean;
    try {
      locked = host.storage.tryLock(this.#now());
    } catch (error) {
      // An unusable storage directory is a failure like any other: waited on with the same backoff.
      return this.#failed(host, `cannot take the order lock in ${JSON.stringify(host.storage.dir)}: ${(error as Error).message}`);
    }
    if (!locked) return this.#schedule(host, LOCK_WAIT_MS);
    try {
      const verb = host.certificate ? "renewing" : "ordering";
      logger.info(`acme: ${host.name}: ${verb} the certificate from ${host.config.directory}`);
      const got = await orderCertificate({ directory: host.config.directory, caFile: host.config.ca_file, email: host.config.email, host: host.name, storage: host.storage, answers: this.#answers });
      if (generation !== host.generation) return;
      host.storage.writeCertificate(host.config.directory, host.name, got.chain, got.key);
      const loaded = this.#fromStorage(host);
      if (!loaded) throw new Error(`the certificate written to ${JSON.stringify(host.storage.certificateFile(host.config.directory, host.name))} cannot be read back`);
      host.streak = 0;
      this.#install(host, loaded, "obtained");
      this.#schedule(host, this.#renewDelay(loaded));
    } catch (error) {
      this.#failed(host, `order failed: ${describe(error)}`);
    } finally {
      host.storage.unlock();
    }
  }

  /** Counts a failed order, logs it with what is still served, and waits before the next try. */
  #failed(host: Host, what: string): void {
    const { logger } = this.#deps;
    host.orderFailures++;
    host.streak++;
    const wait = Math.min(MAX_RETRY_MS, host.config.retry_after * 2 ** (host.streak - 1));
    const serving = host.certificate ? `still serving the certificate valid until ${host.certificate.notAfter.toISOString()}` : "no certificate yet (clients get a self-signed placeholder)";
    logger.error(`acme: ${host.name}: ${what}; ${serving}; next try in ${Math.round(wait / 1000)}s`);
    const soon = host.certificate ? expiryWarning(`the certificate of ${host.name}`, host.certificate.notAfter, this.#now()) : undefined;
    if (soon) logger.warn(`acme: ${soon.replace(/; renew it$/, "")} and renewing it failed; check the CA, DNS and that port 80 reaches tenbin`);
    this.#schedule(host, wait);
  }

  #install(host: Host, cert: LoadedCertificate, how: string): void {
    host.certificate = cert;
    this.#deps.logger.info(`acme: ${host.name}: certificate ${how}, valid until ${cert.notAfter.toISOString()}`);
    for (const listener of host.listeners) this.#deps.onChange(listener);
  }

  #fromStorage(host: Host): LoadedCertificate | undefined {
    const stored = host.storage.readCertificate(host.config.directory, host.name);
    if (!stored) return undefined;
    try {
      return toLoaded(stored.file, stored.chain, stored.key, host.name);
    } catch (error) {
      this.#deps.logger.warn(`acme: ${host.name}: ignoring ${JSON.stringify(stored.file)}: ${(error as Error).message}`);
      return undefined;
    }
  }

  async #makePlaceholder(): Promise<LoadedCertificate> {
    const { chain, key } = await placeholderCertificate("tenbin-acme-pending.invalid");
    return toLoaded("(placeholder)", chain, key, "default.invalid");
  }
}

/** The CA's problem detail (acme-client puts it in the message) on one line. */
function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, " ").trim();
}
