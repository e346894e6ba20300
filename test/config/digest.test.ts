import { describe, expect, test } from "bun:test";
import { canonicalJson, configDigest } from "../../src/config/digest.ts";
import { loadConfigText } from "../../src/config/load.ts";

const BASE = `
listeners: [{ name: web, listen: 127.0.0.1:0, routes: [{ pool: web }] }]
pools:
  web:
    sticky: { cookie: { name: srv, key: \${STICKY_KEY} } }
    health: { http: { path: /healthz }, interval: 2s }
    servers: [{ url: http://10.0.0.1:8080 }, { url: http://10.0.0.2:8080 }]
`;

const digestOf = (yaml: string, env: Record<string, string> = { STICKY_KEY: "k1" }) => configDigest(loadConfigText(yaml, "t.yaml", env));

describe("configDigest", () => {
  test("is sha256 of the validated config: formatting, comments and unit spelling do not change it", () => {
    const a = digestOf(BASE);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    const b = digestOf(`# node b\n${BASE.replace("interval: 2s", "interval: 2000ms").replace("{ path: /healthz }", '{ path: "/healthz" }')}`);
    expect(b).toBe(a);
  });

  test("a changed value or a different environment (a sticky key) changes it", () => {
    const a = digestOf(BASE);
    expect(digestOf(BASE.replace("10.0.0.2", "10.0.0.3"))).not.toBe(a);
    expect(digestOf(BASE, { STICKY_KEY: "k2" })).not.toBe(a);
  });

  test("canonical JSON sorts keys at every level and drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: "s" } })).toBe('{"a":{"c":"s","d":[2,{"x":null,"z":1}]},"b":1}');
  });
});
