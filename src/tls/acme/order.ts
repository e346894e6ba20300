/**
 * One certificate order over RFC 8555 with npm `acme-client` (account registration, JWS signing,
 * nonces, order → authorizations → challenge → finalize → download, polling with Retry-After, the
 * CSR): tenbin only publishes the HTTP-01 answers and stores the results. The library is loaded on
 * the first order, so configs without ACME never load it.
 */
import { readFileSync } from "node:fs";
import type { AcmeStorage } from "./storage.ts";

type AcmeModule = typeof import("acme-client");

let loaded: Promise<AcmeModule> | undefined;
/** CA files by directory origin: requests to a private directory trust its CA only. */
const caByOrigin = new Map<string, string>();

async function acmeClient(): Promise<AcmeModule> {
  loaded ??= import("acme-client").then(async (mod) => {
    const acme = ((mod as { default?: AcmeModule }).default ?? mod) as AcmeModule;
    const { Agent } = await import("node:https");
    const agents = new Map<string, InstanceType<typeof Agent>>();
    acme.axios.interceptors.request.use((config) => {
      const origin = config.url ? new URL(config.url).origin : "";
      const ca = caByOrigin.get(origin);
      if (ca !== undefined) {
        let agent = agents.get(ca);
        if (!agent) agents.set(ca, (agent = new Agent({ ca })));
        config.httpsAgent = agent;
      }
      return config;
    });
    return acme;
  });
  return await loaded;
}

/** What an order needs. */
export interface OrderRequest {
  directory: string;
  /** PEM of the CA that signed the directory's HTTPS certificate. */
  caFile?: string | undefined;
  email?: string | undefined;
  host: string;
  storage: AcmeStorage;
  /** The HTTP-01 answers this instance serves from memory (the storage has them too). */
  answers: Map<string, string>;
}

/** A certificate got from the CA. */
export interface OrderedCertificate {
  chain: string;
  key: string;
}

/** Orders a certificate for `host` (registering the account on first use); throws with the CA's reason. */
export async function orderCertificate(request: OrderRequest): Promise<OrderedCertificate> {
  const acme = await acmeClient();
  const { storage, directory } = request;
  if (request.caFile !== undefined) caByOrigin.set(new URL(directory).origin, readFileSync(request.caFile, "utf8"));
  let account = storage.readAccount(directory);
  if (!account) {
    account = { key: (await acme.crypto.createPrivateEcdsaKey()).toString() };
    storage.writeAccount(directory, account);
  }
  const client = new acme.Client({ directoryUrl: directory, accountKey: account.key, ...(account.url ? { accountUrl: account.url } : {}), backoffAttempts: 5, backoffMin: 1000, backoffMax: 10_000 });
  const [key, csr] = await acme.crypto.createCsr({ commonName: request.host, altNames: [request.host] }, await acme.crypto.createPrivateEcdsaKey());
  const chain = await client.auto({
    csr,
    ...(request.email ? { email: request.email } : {}),
    termsOfServiceAgreed: true,
    // The library would fetch the answer itself first, from port 80 of a name that may not resolve here.
    skipChallengeVerification: true,
    challengePriority: ["http-01"],
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
      request.answers.set(challenge.token, keyAuthorization);
      storage.writeChallenge(challenge.token, keyAuthorization);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      request.answers.delete(challenge.token);
      storage.removeChallenge(challenge.token);
    },
  });
  if (!account.url) storage.writeAccount(directory, { key: account.key, url: client.getAccountUrl() });
  return { chain, key: key.toString() };
}

/** A self-signed certificate a TLS listener serves until its first ACME certificate arrives. */
export async function placeholderCertificate(host: string): Promise<OrderedCertificate> {
  const acme = await acmeClient();
  // acme-client's TLS-ALPN-01 certificate is the one self-signed certificate it makes; clients
  // reject it (no CA signed it), which is right for a listener that has no certificate yet.
  const [key, cert] = await acme.crypto.createAlpnCertificate(
    { identifier: { type: "dns", value: host } } as Parameters<AcmeModule["crypto"]["createAlpnCertificate"]>[0],
    "tenbin placeholder",
    // RSA: the certificate's key usage (keyEncipherment) is refused with an ECDSA key by BoringSSL.
    await acme.crypto.createPrivateRsaKey(2048),
  );
  return { chain: cert.toString(), key: key.toString() };
}

/** The lifetime of a PEM certificate chain's first certificate. */
export async function certificateDates(chain: string): Promise<{ notBefore: Date; notAfter: Date }> {
  const { X509Certificate } = await import("node:crypto");
  const x509 = new X509Certificate(chain);
  return { notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) };
}
