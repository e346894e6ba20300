/**
 * IP address ranges (`10.0.0.0/8`, `::1/128`, a bare address) compiled once, tested per request, on
 * `node:net` `BlockList` (Bun and Deno): it matches IPv4-mapped IPv6 in either notation
 * (`::ffff:10.1.2.3`, `::ffff:a01:203`) against IPv4 ranges, and `isIP` refuses the forms some
 * parsers read as octal or decimal (`010.001.002.003`).
 */
import { BlockList, isIP } from "node:net";

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
      // No leading zeros: `010` is 8 to inet_aton, 10 to others; isIP refuses it, and so does this.
      if (!/^(?:0|[1-9]\d{0,2})$/.test(parts[i]!) || n > 255) return undefined;
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
  // IPv4-mapped in hex (`::ffff:a01:203`) is IPv4 too.
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) return out.slice(12);
  return out;
}

/**
 * An IPv4 client seen through a dual-stack socket (`::ffff:192.0.2.1`) as plain IPv4, so forwarding
 * headers, logs and source-address persistence name it the same whichever listener it came through.
 */
export function unmapIpv4(ip: string): string {
  return ip.length > 7 && ip.charCodeAt(0) === 58 /* ":" */ && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

/**
 * A set of address ranges; `has(ip)` answers whether an address falls in any of them. IPv4 and IPv6
 * ranges are kept apart (BlockList alone would let `::/0` match every IPv4 client); an IPv4-mapped
 * client is tested as the IPv4 address it is.
 */
export class CidrSet {
  readonly #v4 = new BlockList();
  readonly #v6 = new BlockList();
  readonly #size: number;

  /** Throws on a malformed entry (the config schema has already checked the shape). */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [addr = "", bitsText, ...extra] = entry.split("/");
      const text = bare(addr);
      const family = isIP(text);
      if (family === 0) throw new Error(`bad address range "${entry}"`);
      const max = family === 4 ? 32 : 128;
      // Digits only: Number("") is 0, so "10.0.0.0/" would otherwise mean every address.
      const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
      if (extra.length > 0 || !(bits >= 0 && bits <= max)) throw new Error(`bad prefix length in "${entry}"`);
      if (family === 4) this.#v4.addSubnet(text, bits, "ipv4");
      else this.#v6.addSubnet(text, bits, "ipv6");
    }
    this.#size = entries.length;
  }

  get size(): number {
    return this.#size;
  }

  has(ip: string): boolean {
    if (this.#size === 0) return false;
    const text = bare(ip);
    const family = isIP(text);
    if (family === 4) return this.#v4.check(text, "ipv4");
    if (family !== 6) return false;
    const bytes = ipBytes(text);
    if (bytes?.length === 4) return this.#v4.check(bytes.join("."), "ipv4");
    return this.#v6.check(text, "ipv6");
  }
}

/** The address without brackets or a zone (`[fe80::1%eth0]` → `fe80::1`). */
function bare(ip: string): string {
  const text = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const zone = text.indexOf("%");
  return zone >= 0 ? text.slice(0, zone) : text;
}
