import { describe, expect, test } from "bun:test";
import { buildSetCookie, CookieSigner, readCookie } from "../../../src/pool/persist/cookie.ts";

const SERVER = "http://10.0.0.11:8080";
const NOW = 1_700_000_000;

describe("CookieSigner", () => {
  test("a signed value verifies to the server's id until it expires", () => {
    const signer = new CookieSigner("secret");
    const value = signer.sign(SERVER, NOW + 3_600);
    expect(signer.verify(value, NOW)).toEqual({ serverId: signer.serverId(SERVER) });
    expect(signer.verify(value, NOW + 3_599)).toEqual({ serverId: signer.serverId(SERVER) });
    expect(signer.verify(value, NOW + 3_600)).toBeUndefined();
  });

  test("the value is cookie-safe and does not reveal the server's address", () => {
    const value = new CookieSigner("secret").sign(SERVER, NOW + 60);
    expect(value).toMatch(/^[A-Za-z0-9_-]{10}\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(value).not.toContain("10.0.0.11");
    expect(value).not.toContain("8080");
  });

  test("ids are stable across instances with the same key and differ across keys and servers", () => {
    const a = new CookieSigner("shared");
    const b = new CookieSigner("shared");
    expect(a.serverId(SERVER)).toBe(b.serverId(SERVER));
    expect(a.serverId(SERVER)).toHaveLength(10);
    expect(b.verify(a.sign(SERVER, NOW + 60), NOW)).toEqual({ serverId: a.serverId(SERVER) });
    expect(new CookieSigner("other").serverId(SERVER)).not.toBe(a.serverId(SERVER));
    expect(a.serverId("http://10.0.0.12:8080")).not.toBe(a.serverId(SERVER));
  });

  test("remembered MACs: signing again gives what a fresh signer gives, and a tampered MAC of a remembered payload is still refused", () => {
    const signer = new CookieSigner("secret");
    // Past the bound of remembered payloads, so the memory is cleared on the way at least once.
    for (let second = 0; second < 1_500; second++) {
      const value = signer.sign(SERVER, NOW + second);
      expect(signer.sign(SERVER, NOW + second)).toBe(value);
      if (second % 100 === 0) expect(new CookieSigner("secret").sign(SERVER, NOW + second)).toBe(value);
    }
    const value = signer.sign(SERVER, NOW + 60);
    expect(signer.verify(value, NOW)).toEqual({ serverId: signer.serverId(SERVER) });
    const mac = value.slice(value.lastIndexOf(".") + 1);
    const forged = value.slice(0, value.lastIndexOf(".") + 1) + (mac[0] === "A" ? "B" : "A") + mac.slice(1);
    expect(signer.verify(forged, NOW)).toBeUndefined();
    // Another key's signer that remembered nothing refuses it, and a payload first seen by verify is checked whole.
    expect(new CookieSigner("other").verify(value, NOW)).toBeUndefined();
    expect(new CookieSigner("secret").verify(forged, NOW)).toBeUndefined();
  });

  test("a value signed with another key is refused", () => {
    const value = new CookieSigner("one").sign(SERVER, NOW + 60);
    expect(new CookieSigner("two").verify(value, NOW)).toBeUndefined();
  });

  test("tampering with any part is refused", () => {
    const signer = new CookieSigner("secret");
    const value = signer.sign(SERVER, NOW + 60);
    const [id, expiry, mac] = value.split(".") as [string, string, string];
    const otherId = signer.serverId("http://10.0.0.12:8080");
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    const forged = [
      `${otherId}.${expiry}.${mac}`,
      `${id}.${(parseInt(expiry, 36) + 86_400).toString(36)}.${mac}`,
      `${id}.${expiry}.${flip(mac, 0)}`,
      `${id}.${expiry}.${flip(mac, 21)}`,
      `${flip(id, 3)}.${expiry}.${mac}`,
    ];
    for (const value of forged) expect(signer.verify(value, NOW)).toBeUndefined();
  });

  test("malformed values are refused without throwing", () => {
    const signer = new CookieSigner("secret");
    const good = signer.sign(SERVER, NOW + 60);
    const bad = ["", ".", "..", "abc", good + ".", good + "x", good.slice(0, -1), `x${good}`, good.replace(/\./g, ""),
      good.replace(/\.[0-9a-z]+\./, ".ZZ."), good.replace(/\.[0-9a-z]+\./, ".."), "é".repeat(10) + good.slice(10),
      good.slice(0, -2) + "é"];
    for (const value of bad) expect(signer.verify(value, NOW)).toBeUndefined();
  });

  test("an empty key is refused", () => {
    expect(() => new CookieSigner("")).toThrow("must not be empty");
  });
});

describe("buildSetCookie", () => {
  test("writes every attribute", () => {
    expect(buildSetCookie("tenbin_srv", "v", { maxAgeSec: 3600, path: "/", domain: "example.com", httpOnly: true, secure: true, sameSite: "strict" }))
      .toBe("tenbin_srv=v; Max-Age=3600; Path=/; Domain=example.com; HttpOnly; Secure; SameSite=Strict");
  });

  test("a session cookie has no Max-Age; SameSite=None brings Secure", () => {
    expect(buildSetCookie("s", "v", { path: "/", sameSite: "lax" })).toBe("s=v; Path=/; SameSite=Lax");
    expect(buildSetCookie("s", "v", { sameSite: "none" })).toBe("s=v; Secure; SameSite=None");
    expect(buildSetCookie("s", "v")).toBe("s=v");
  });

  test("refuses an attribute that would split the header", () => {
    expect(() => buildSetCookie("s", "v", { path: "/; Domain=evil.example" })).toThrow('Cookie path "/; Domain=evil.example"');
    expect(() => buildSetCookie("s", "v", { domain: "a\r\nb" })).toThrow("Cookie domain");
  });
});

describe("readCookie", () => {
  test("finds the cookie at the start, middle or end, with or without spaces", () => {
    expect(readCookie("tenbin_srv=abc", "tenbin_srv")).toBe("abc");
    expect(readCookie("a=1; tenbin_srv=abc; b=2", "tenbin_srv")).toBe("abc");
    expect(readCookie("a=1;tenbin_srv=abc", "tenbin_srv")).toBe("abc");
    expect(readCookie("a=1;  tenbin_srv=abc ", "tenbin_srv")).toBe("abc");
  });

  test("does not match a name that only ends or starts like it", () => {
    expect(readCookie("xtenbin_srv=evil; tenbin_srv=good", "tenbin_srv")).toBe("good");
    expect(readCookie("tenbin_srv2=evil", "tenbin_srv")).toBeUndefined();
    expect(readCookie("a=tenbin_srv=evil", "tenbin_srv")).toBeUndefined();
  });

  test("first occurrence wins, quotes are removed, empty values are kept", () => {
    expect(readCookie("s=1; s=2", "s")).toBe("1");
    expect(readCookie('s="quoted"', "s")).toBe("quoted");
    expect(readCookie("s=; t=1", "s")).toBe("");
  });

  test("absent header or cookie gives undefined", () => {
    expect(readCookie(null, "s")).toBeUndefined();
    expect(readCookie("", "s")).toBeUndefined();
    expect(readCookie("a=1; b=2", "s")).toBeUndefined();
  });
});
