// `engine: auto` (the default) as the config loader makes it concrete.
import { expect, test } from "bun:test";
import { loadConfigText } from "../../src/config/load.ts";

function engines(listeners: string, pools = ""): Record<string, string> {
  const config = loadConfigText(`
listeners:
${listeners}
pools:
  plain: { servers: [{ url: "http://127.0.0.1:9001" }] }
  secure: { servers: [{ url: "http://127.0.0.1:9002" }, { url: "https://127.0.0.1:9003" }] }
  sorry_tls: { servers: [{ url: "http://127.0.0.1:9004" }], sorry: { server: "https://127.0.0.1:9005" } }
${pools}`, "t.yaml", {});
  return Object.fromEntries(config.listeners.map((l) => [l.name, l.mode === "http" ? l.engine : l.mode]));
}

test("auto is tenbin's own server unless the listener has http2 (https:// servers included)", () => {
  expect(engines(`
  - { name: plain, listen: 127.0.0.1:0, routes: [{ pool: plain }] }
  - { name: h2, listen: 127.0.0.1:0, http2: true, routes: [{ pool: plain }] }
  - { name: tls-server, listen: 127.0.0.1:0, routes: [{ match: { path: /a/ }, pool: plain }, { pool: secure }] }
  - { name: tls-sorry, listen: 127.0.0.1:0, routes: [{ pool: sorry_tls }] }
  - { name: redirect, listen: 127.0.0.1:0, redirect_https: true }
  - { name: tcp, mode: tcp, listen: 127.0.0.1:0, pool: raw }`, `  raw: { servers: [{ url: "tcp://127.0.0.1:9006" }] }`)).toEqual({
    plain: "tenbin", h2: "runtime", "tls-server": "tenbin", "tls-sorry": "tenbin", redirect: "tenbin", tcp: "tcp",
  });
});

test("an engine set by hand is kept", () => {
  expect(engines(`
  - { name: a, listen: 127.0.0.1:0, engine: runtime, routes: [{ pool: plain }] }
  - { name: b, listen: 127.0.0.1:0, engine: tenbin, routes: [{ pool: secure }] }`)).toEqual({ a: "runtime", b: "tenbin" });
});
