/**
 * Certificate reload for the composition root: the key that tells whether a listener must be bound
 * anew (its certificates, keys or protocols changed), and one file watch per TLS listener that says
 * when its files changed on disk.
 */
import type { AnyListenerConfig } from "../config/schema.ts";
import type { ListenerTls } from "./listener-tls.ts";
import { FileWatch } from "./watch.ts";

/**
 * What a bound HTTP or TCP listener serves besides its address: equal keys need no new socket. The runtime
 * cannot swap certificates on a live socket (Bun's `reload()` ignores `tls`), so a new key means a
 * new listener beside the old one.
 */
export function tlsBindKey(listener: AnyListenerConfig, tls: ListenerTls | undefined): string {
  const http = listener.mode === "http" ? `${listener.http2 ? " h2" : ""}${listener.engine === "tenbin" ? " own" : ""}` : "";
  return `${tls ? `tls ${tls.digest}` : "plain"}${http}`;
}

/** One file watch per TLS listener of the config in force. */
export class CertificateWatches {
  readonly #watches = new Map<string, { key: string; watch: FileWatch }>();
  readonly #onChange: (listener: string) => void;

  /** `onChange(name)` runs when a file of listener `name` changed. */
  constructor(onChange: (listener: string) => void) {
    this.#onChange = onChange;
  }

  /** Starts, keeps or stops watches to match `listeners`. */
  sync(listeners: readonly AnyListenerConfig[]): void {
    const wanted = new Map<string, { files: string[]; interval: number }>();
    for (const l of listeners) {
      if (l.mode === "udp" || !l.tls || l.tls.watch_interval <= 0) continue;
      if (!l.tls.certificates) continue; // ACME certificates come through the ACME manager
      wanted.set(l.name, { files: l.tls.certificates.flatMap((c) => [c.cert, c.key]), interval: l.tls.watch_interval });
    }
    for (const [name, current] of this.#watches) {
      const want = wanted.get(name);
      if (!want || current.key !== watchKey(want)) {
        current.watch.stop();
        this.#watches.delete(name);
      }
    }
    for (const [name, want] of wanted) {
      if (this.#watches.has(name)) continue;
      this.#watches.set(name, { key: watchKey(want), watch: new FileWatch(want.files, want.interval, () => this.#onChange(name)) });
    }
  }

  /** Looks at every watched file now (tests, and SIGHUP-like triggers). */
  checkNow(): void {
    for (const { watch } of this.#watches.values()) watch.check();
  }

  stopAll(): void {
    for (const { watch } of this.#watches.values()) watch.stop();
    this.#watches.clear();
  }
}

function watchKey(want: { files: string[]; interval: number }): string {
  return `${want.interval}\u0000${want.files.join("\u0000")}`;
}
