/** IP address ranges (`10.0.0.0/8`, `::1/128`, a bare address) compiled once, tested per request. */

/** Bytes of an IPv4 or IPv6 address (IPv4-mapped IPv6 becomes IPv4); undefined when malformed. */
export function ipBytes(ip: string): Uint8Array | undefined {
  let text = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped) text = mapped[1]!;
  if (text.includes(".") && !text.includes(":")) {
    const parts = text.split(".");
    if (parts.length !== 4) return undefined;
    const out = new Uint8Array(4);
    for (let i = 0; i < 4; i++) {
      const n = Number(parts[i]);
      if (!/^\d{1,3}$/.test(parts[i]!) || n > 255) return undefined;
      out[i] = n;
    }
    return out;
  }
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  return out;
}

/**
 * An IPv4 client seen through a dual-stack socket (`::ffff:192.0.2.1`) as plain IPv4, so forwarding
 * headers, logs and source-address persistence name it the same whichever listener it came through.
 */
export function unmapIpv4(ip: string): string {
  return ip.length > 7 && ip.charCodeAt(0) === 58 /* ":" */ && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

interface Range { bytes: Uint8Array; bits: number }

/** A set of address ranges; `has(ip)` answers whether an address falls in any of them. */
export class CidrSet {
  readonly #ranges: Range[] = [];

  /** Throws on a malformed entry (the config schema has already checked the shape). */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr = "", bitsText, ...extra] = entry.split("/");
      const bytes = ipBytes(addr);
      if (!bytes) throw new Error(`bad address range "${entry}"`);
      // Digits only: Number("") is 0, so "10.0.0.0/" would otherwise mean every address.
      const bits = bitsText === undefined ? bytes.length * 8 : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
      if (extra.length > 0 || !(bits >= 0 && bits <= bytes.length * 8)) throw new Error(`bad prefix length in "${entry}"`);
      this.#ranges.push({ bytes, bits });
    }
  }

  get size(): number {
    return this.#ranges.length;
  }

  has(ip: string): boolean {
    if (this.#ranges.length === 0) return false;
    const bytes = ipBytes(ip);
    if (!bytes) return false;
    for (const range of this.#ranges) {
      if (range.bytes.length === bytes.length && prefixEqual(range.bytes, bytes, range.bits)) return true;
    }
    return false;
  }
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}
