/**
 * Cookie persistence: the value names a server by a short keyed id, carries its own expiry and is
 * signed, so a client can neither pick a server at will nor learn its address, and any tenbin
 * holding the same key (an HA pair) reads the cookie the same way — no shared table needed.
 *
 * Value format: `<id>.<expiry>.<mac>` — id: 10 base64url characters of HMAC(key, "id:" + server
 * key) (60 bits); expiry: Unix seconds in base 36; mac: HMAC-SHA256(key, "v1:" + id + "." +
 * expiry), first 16 bytes, base64url (22 characters). All of it is cookie-safe without quoting.
 */
import { Buffer } from "node:buffer";
import { lazyBuiltin } from "../../util/lazy-builtin.ts";

const nodeCrypto = lazyBuiltin("node:crypto");

const ID_LENGTH = 10;
const MAC_BYTES = 16;
const MAC_LENGTH = 22;
const BASE36 = /^[0-9a-z]{1,11}$/;
/** Payloads whose MAC is remembered (a few servers times a few seconds of expiries, and then some). */
const MAX_MACS = 1024;

/** Signs and checks persistence cookie values with one HMAC key. */
export class CookieSigner {
  readonly #key: string;
  /** Server ids by server key: a pool has few servers, and the id costs an HMAC to compute. */
  readonly #ids = new Map<string, string>();
  /**
   * MACs (as cookie text) by payload, remembered: a payload is a server and an expiry in whole
   * seconds, so within a second every answer that sets a cookie for one server signs the same
   * payload, and the HMAC cost ~1.6 µs per answer (Bun 1.4.5). Bounded; cleared when full.
   */
  readonly #macs = new Map<string, string>();

  constructor(key: string) {
    if (key.length === 0) throw new Error("A cookie signing key must not be empty");
    this.#key = key;
  }

  /** The stable short id of a server: the same for every signer with the same key. */
  serverId(serverKey: string): string {
    let id = this.#ids.get(serverKey);
    if (id === undefined) {
      id = nodeCrypto().createHmac("sha256", this.#key).update(`id:${serverKey}`).digest("base64url").slice(0, ID_LENGTH);
      this.#ids.set(serverKey, id);
    }
    return id;
  }

  /** A cookie value naming `serverKey`'s server, valid until `expiresAtEpochSec` (Unix seconds). */
  sign(serverKey: string, expiresAtEpochSec: number): string {
    const payload = `${this.serverId(serverKey)}.${Math.max(0, Math.floor(expiresAtEpochSec)).toString(36)}`;
    return `${payload}.${this.#macText(payload)}`;
  }

  /**
   * The server id in a cookie value, or undefined when the value is malformed, signed with another
   * key, tampered with, or expired at `nowEpochSec`.
   */
  verify(value: string, nowEpochSec: number): { serverId: string } | undefined {
    const firstDot = value.indexOf(".");
    if (firstDot !== ID_LENGTH) return undefined;
    const secondDot = value.indexOf(".", firstDot + 1);
    if (secondDot < 0 || value.length - secondDot - 1 !== MAC_LENGTH) return undefined;
    const expiry = value.slice(firstDot + 1, secondDot);
    if (!BASE36.test(expiry)) return undefined;
    // The expiry is plain text anyway; checking it first saves an HMAC per expired cookie.
    if (parseInt(expiry, 36) <= nowEpochSec) return undefined;
    // Compare the encoded text, not decoded bytes: base64url has several spellings of 16 bytes.
    const expected = Buffer.from(this.#macText(value.slice(0, secondDot)));
    const given = Buffer.from(value.slice(secondDot + 1));
    if (given.length !== expected.length || !nodeCrypto().timingSafeEqual(given, expected)) return undefined;
    const id = value.slice(0, firstDot);
    return { serverId: id };
  }

  /** The MAC of `payload` as it stands in a cookie (base64url). */
  #macText(payload: string): string {
    let text = this.#macs.get(payload);
    if (text === undefined) {
      text = nodeCrypto().createHmac("sha256", this.#key).update(`v1:${payload}`).digest().subarray(0, MAC_BYTES).toString("base64url");
      if (this.#macs.size >= MAX_MACS) this.#macs.clear();
      this.#macs.set(payload, text);
    }
    return text;
  }
}

/** Attributes of a Set-Cookie header (names as in the config's `sticky.cookie`). */
export interface SetCookieOptions {
  /** Seconds; omitted = a session cookie. */
  maxAgeSec?: number | undefined;
  path?: string | undefined;
  domain?: string | undefined;
  httpOnly?: boolean | undefined;
  secure?: boolean | undefined;
  sameSite?: "lax" | "strict" | "none" | undefined;
}

const SAME_SITE = { lax: "Lax", strict: "Strict", none: "None" } as const;
/** Characters that would end or split an attribute. */
const UNSAFE_ATTRIBUTE = /[;,\x00-\x1f\x7f]/;

/**
 * The Set-Cookie header value for a persistence cookie. `SameSite=None` always comes with
 * `Secure`: browsers drop a SameSite=None cookie without it, which would silently end persistence.
 */
export function buildSetCookie(name: string, value: string, options: SetCookieOptions = {}): string {
  let header = `${name}=${value}`;
  if (options.maxAgeSec !== undefined) header += `; Max-Age=${Math.max(0, Math.floor(options.maxAgeSec))}`;
  if (options.path !== undefined) header += `; Path=${checkAttribute("path", options.path)}`;
  if (options.domain !== undefined) header += `; Domain=${checkAttribute("domain", options.domain)}`;
  if (options.httpOnly === true) header += "; HttpOnly";
  if (options.secure === true || options.sameSite === "none") header += "; Secure";
  if (options.sameSite !== undefined) header += `; SameSite=${SAME_SITE[options.sameSite]}`;
  return header;
}

function checkAttribute(what: string, value: string): string {
  if (UNSAFE_ATTRIBUTE.test(value)) throw new Error(`Cookie ${what} "${value}" contains a character not allowed in a cookie attribute`);
  return value;
}

/**
 * The value of cookie `name` in a Cookie request header, without parsing the other cookies.
 * Surrounding double quotes are removed (RFC 6265 allows them); the first occurrence wins, which
 * is the most specific path in browsers' order.
 */
export function readCookie(cookieHeader: string | null, name: string): string | undefined {
  if (cookieHeader === null || name.length === 0) return undefined;
  let from = 0;
  while (from < cookieHeader.length) {
    const at = cookieHeader.indexOf(name, from);
    if (at < 0) return undefined;
    const afterName = at + name.length;
    if (cookieHeader.charCodeAt(afterName) === 61 /* = */ && startsPair(cookieHeader, at)) {
      let end = cookieHeader.indexOf(";", afterName + 1);
      if (end < 0) end = cookieHeader.length;
      let value = cookieHeader.slice(afterName + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    from = at + 1;
  }
  return undefined;
}

/** Whether position `at` begins a name=value pair: start of the header, or after ";" and spaces. */
function startsPair(header: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i--;
  return i < 0 || header.charCodeAt(i) === 59 /* ; */;
}
