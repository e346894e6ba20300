import { beforeAll, describe, expect, test } from "bun:test";
import { coversHost, inspectCertificate, type LoadedCertificate } from "../../src/tls/certificates.ts";
import { buildSniList, identitiesDigest } from "../../src/tls/sni.ts";
import { testCerts, type TestCerts } from "../helpers/certs.ts";

let certs: TestCerts;
beforeAll(async () => {
  certs = await testCerts();
});

function loaded(pair: { cert: string; key: string }, hosts?: string[]): LoadedCertificate {
  const { loaded, problems } = inspectCertificate({ ...pair, hosts });
  if (!loaded) throw new Error(problems.map((p) => p.message).join("; "));
  return loaded;
}

describe("names of a certificate", () => {
  test("come from its DNS SANs, lower-cased, IP entries left out", () => {
    expect(loaded(certs.a).hosts).toEqual(["a.test", "*.a.test"]);
  });

  test("an explicit hosts list replaces them", () => {
    expect(loaded(certs.a, ["WWW.a.test"]).hosts).toEqual(["www.a.test"]);
  });

  test("a wildcard covers exactly one label", () => {
    expect(coversHost("*.a.test", "x.a.test")).toBe(true);
    expect(coversHost("*.a.test", "*.a.test")).toBe(true);
    expect(coversHost("*.a.test", "a.test")).toBe(false);
    expect(coversHost("*.a.test", "x.y.a.test")).toBe(false);
    expect(coversHost("a.test", "a.test")).toBe(true);
  });
});

describe("the SNI table", () => {
  test("lists every name in file order, so the first certificate is the default", () => {
    const { identities, shadowed } = buildSniList([loaded(certs.b), loaded(certs.a)]);
    expect(identities.map((i) => i.serverName)).toEqual(["b.test", "*.b.test", "a.test", "*.a.test"]);
    expect(shadowed).toEqual([]);
  });

  test("a name two certificates claim goes to the first; the second is reported", () => {
    const first = loaded(certs.a);
    const { identities, shadowed } = buildSniList([first, loaded(certs.a2)]);
    expect(identities.map((i) => [i.serverName, i.cert === first.cert])).toEqual([["a.test", true], ["*.a.test", true]]);
    expect(shadowed).toEqual(["a.test", "*.a.test"]);
  });

  test("a first certificate without names still becomes the default", () => {
    const nameless = { ...loaded(certs.a), hosts: [] };
    expect(buildSniList([nameless, loaded(certs.b)]).identities[0]?.cert).toBe(nameless.cert);
  });

  test("the digest changes with the certificates and not otherwise", () => {
    const one = buildSniList([loaded(certs.a)]).identities;
    expect(identitiesDigest(one)).toBe(identitiesDigest(buildSniList([loaded(certs.a)]).identities));
    expect(identitiesDigest(one)).not.toBe(identitiesDigest(buildSniList([loaded(certs.a2)]).identities));
  });
});
