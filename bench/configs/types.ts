/** Shapes shared by the macro benchmark's scenarios, peers and harness. */

/** A loopback address the harness picked. */
export interface HostPort {
  host: string;
  port: number;
}

/** The balancers the macro benchmark compares. */
export type PeerName = "tenbin" | "tenbin-runtime" | "haproxy" | "nginx" | "caddy";

/** Everything a config needs to know about one run. */
export interface ConfigContext {
  /** Where the balancer accepts. */
  listen: HostPort;
  /** The backends it balances over, in order. */
  backends: readonly HostPort[];
  /** A directory the balancer may write pid, temp and log files to. */
  workDir: string;
  /**
   * Processes or threads the balancer serves with (tenbin `workers`, HAProxy `nbthread`, nginx
   * `worker_processes`; Caddy's GOMAXPROCS comes from `PeerSpec.env`).
   */
  workers: number;
  /** The certificate to terminate TLS with; set for https scenarios only. */
  tls?: TlsFiles | undefined;
  /** tenbin's listener `engine` (`runtime` for the runtime's HTTP server); the default (`auto`) when unset. */
  engine?: string | undefined;
}

/** A certificate made for the benchmark (bench/configs/certs.ts). */
export interface TlsFiles {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (unencrypted). */
  key: string;
  /** Certificate and key in one PEM file (HAProxy's `crt`). */
  pem: string;
}

/** Builds the text of one peer's config file. */
export type ConfigBuilder = (ctx: ConfigContext) => string;

/** One config builder per peer; a peer without one is reported as not supported. */
export type PeerConfigs = Partial<Record<PeerName, ConfigBuilder>>;

/**
 * One benchmark scenario: what the load generator asks for and how every peer is configured.
 * With `scheme: "https"` the harness makes a certificate and passes it as `ConfigContext.tls`.
 */
export interface Scenario {
  /** Short id used on the command line (`--scenario l7-1k`). */
  name: string;
  /** One line for the report. */
  title: string;
  /** Scheme and path wrk requests, on the balancer's address (the backends always speak http). */
  scheme: "http" | "https";
  path: string;
  /** Exact body size a backend returns for `path`, used to check a balancer before loading it. */
  bodyBytes: number;
  /** What the report should say about the scenario: what a peer cannot do alike, what the client does. */
  note?: string;
  configs: PeerConfigs;
  /** The balancers pass TCP: a listener `engine` (the `tenbin-runtime` peer) does not apply. */
  tcp?: boolean;
  /**
   * The backends terminate TLS themselves (passthrough): the peers get `ConfigContext.backends` of
   * the TLS backends, which serve the same bodies with the bench certificate.
   */
  backendTls?: boolean;
}
