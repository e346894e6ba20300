/**
 * Let's Encrypt's test ACME server, pebble (Debian package `pebble`), on loopback for the ACME
 * tests: its own config JSON, its directory served with a test certificate (so tenbin is given
 * `ca_file`), and `pebble-challtestsrv` as its DNS server, which answers 127.0.0.1 for every name,
 * so pebble validates HTTP-01 against tenbin's listener on `httpPort`.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testCerts } from "./certs.ts";
import { freeTcpPort } from "./l4-backends.ts";

/** Whether pebble and pebble-challtestsrv are installed (.ci/run installs them). */
export const HAVE_PEBBLE = existsSync("/usr/bin/pebble") && existsSync("/usr/bin/pebble-challtestsrv");

/** A running pebble. */
export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** PEM file of the CA that signed the directory's HTTPS certificate (tenbin's `ca_file`). */
  caFile: string;
  /** Everything pebble printed so far. */
  readonly log: string;
  stop(): Promise<void>;
}

/** What pebble is told. */
export interface PebbleOptions {
  /** Port of tenbin's plain HTTP listener: where pebble sends HTTP-01 validation requests. */
  httpPort: number;
  /** Lifetime of the certificates it issues, in seconds (pebble's certificateValidityPeriod). */
  validitySeconds?: number;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const socket = await Bun.udpSocket({ hostname: "127.0.0.1", port: 0 });
  const port = socket.port;
  socket.close();
  return port;
}

async function waitFor(read: () => string, text: string, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!read().includes(text)) {
    if (performance.now() > deadline) throw new Error(`${what} did not start within 10 s:\n${read()}`);
    await Bun.sleep(20);
  }
}

/** Starts pebble-challtestsrv (DNS) and pebble; stop() ends both. */
export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const certs = await testCerts();
  const dir = mkdtempSync(join(tmpdir(), "tenbin-pebble-"));
  const dnsPort = await freeUdpPort();
  const acmePort = freeTcpPort();
  const config = join(dir, "pebble-config.json");
  writeFileSync(config, JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${freeTcpPort()}`,
      // certs.a names IP:127.0.0.1, and certs.ca signed it.
      certificate: certs.a.cert,
      privateKey: certs.a.key,
      httpPort: options.httpPort,
      tlsPort: freeTcpPort(),
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
      ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  }));
  let dnsLog = "";
  let log = "";
  const pipe = (stream: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    void (async () => {
      const decoder = new TextDecoder();
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        add(decoder.decode(value));
      }
    })();
  };
  const dns = Bun.spawn(["pebble-challtestsrv", "-dns01", `127.0.0.1:${dnsPort}`, "-http01", "", "-https01", "", "-tlsalpn01", "",
    "-management", `127.0.0.1:${freeTcpPort()}`, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""], { stdout: "pipe", stderr: "pipe" });
  pipe(dns.stdout, (t) => (dnsLog += t));
  pipe(dns.stderr, (t) => (dnsLog += t));
  const pebble = Bun.spawn(["pebble", "-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`], {
    stdout: "pipe",
    stderr: "pipe",
    // No random sleeps before validating; validate for real (never "always valid").
    env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_VA_ALWAYS_VALID: "0", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
  });
  pipe(pebble.stdout, (t) => (log += t));
  pipe(pebble.stderr, (t) => (log += t));
  const stop = async () => {
    pebble.kill();
    dns.kill();
    await Promise.all([pebble.exited, dns.exited]);
  };
  try {
    await waitFor(() => dnsLog, "Starting management server", "pebble-challtestsrv");
    await waitFor(() => log, "ACME directory available", "pebble");
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile: certs.ca,
    get log() {
      return log;
    },
    stop,
  };
}
