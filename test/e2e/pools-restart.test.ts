/**
 * End to end with real processes: a persistence cookie signed by one tenbin still pins after a
 * restart when the `key` is the same (the same holds for the other tenbin of an HA pair), and not
 * when the key differs.
 */
import { afterAll, expect, test } from "bun:test";
import { startTenbin } from "../helpers/tenbin.ts";
import { CookieJar, namedBackend, stopAll } from "./pools-support.ts";

const a = namedBackend("a");
const b = namedBackend("b");
afterAll(() => stopAll([a, b]));

const config = (key: string) => `
listeners:
  - { name: web, listen: 127.0.0.1:0, routes: [{ pool: app }] }
pools:
  app:
    sticky: { cookie: { name: srv, key: "${key}", max_age: 10m } }
    servers: [{ url: "${a.url}" }, { url: "${b.url}" }]
`;

test("a cookie still pins after a restart with the same key, and is replaced under another key", async () => {
  // Round robin gives the first client "a", the second "b": keep the second, so a fresh process
  // (whose round robin starts at "a" again) could only send it to "b" by reading the cookie.
  const jar = new CookieJar("srv");
  const first = await startTenbin(config("shared-secret"));
  try {
    await fetch(first.url("/")).then((r) => r.text());
    expect((await jar.fetch(first.url("/"))).body).toBe("b");
  } finally {
    expect(await first.stop()).toBe(0);
  }
  const pinned = jar.value!;

  const second = await startTenbin(config("shared-secret"));
  try {
    for (let i = 0; i < 5; i++) {
      const { body, setCookie } = await jar.fetch(second.url("/"));
      expect(body).toBe("b");
      expect(setCookie).toBeUndefined();
    }
  } finally {
    expect(await second.stop()).toBe(0);
  }

  const other = await startTenbin(config("another-secret"));
  try {
    const { body, setCookie } = await jar.fetch(other.url("/"));
    expect(body).toBe("a");
    expect(setCookie).toBeDefined();
    expect(jar.value).not.toBe(pinned);
  } finally {
    expect(await other.stop()).toBe(0);
  }
}, 30_000);
