/**
 * Client addresses → the group key source persistence stores them under: the address with its
 * host bits cleared (a /24 groups 10.1.2.3 and 10.1.2.99), IPv4-mapped IPv6 (`::ffff:10.1.2.3`,
 * what a dual-stack socket reports) folded into IPv4 so one client is one client.
 */

/** Scratch for IPv6 parsing: one per module, the parse is synchronous. */
const groups = new Uint16Array(8);
const HEX = /^[0-9a-fA-F]+$/;

/** An IPv4 dotted quad as an unsigned 32-bit number, or -1. Strict: no leading zeros or spaces. */
export function parseIPv4(text: string, start = 0): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    const begin = i;
    let octet = 0;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - begin;
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text.charCodeAt(begin) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (text.charCodeAt(i) !== 46 /* . */) return -1;
      i++;
    }
  }
  return i === text.length ? value : -1;
}

/** One hexadecimal group into `groups[at]`; false if it is not 1–4 hex digits. */
function putHex(part: string, at: number): boolean {
  if (part.length === 0 || part.length > 4 || !HEX.test(part)) return false;
  groups[at] = parseInt(part, 16);
  return true;
}

/** Parses IPv6 (with `::`, an embedded dotted quad, a `%zone`) into `groups`; false if invalid. */
function parseIPv6(text: string): boolean {
  const zone = text.indexOf("%");
  const address = zone >= 0 ? text.slice(0, zone) : text;
  const gap = address.indexOf("::");
  if (gap >= 0 && address.indexOf("::", gap + 1) >= 0) return false;
  const head = gap >= 0 ? address.slice(0, gap) : address;
  const tail = gap >= 0 ? address.slice(gap + 2) : "";
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === "" ? [] : tail.split(":");
  // An embedded IPv4 address is the last part and takes the last two groups.
  const lastParts = gap >= 0 ? tailParts : headParts;
  const last = lastParts[lastParts.length - 1];
  let v4 = -1;
  if (last !== undefined && last.includes(".")) {
    v4 = parseIPv4(last);
    if (v4 < 0) return false;
    lastParts.pop();
  }
  const v4Groups = v4 >= 0 ? 2 : 0;
  const total = headParts.length + tailParts.length + v4Groups;
  if (gap >= 0 ? total > 7 : total !== 8) return false;
  groups.fill(0);
  for (let k = 0; k < headParts.length; k++) if (!putHex(headParts[k]!, k)) return false;
  const tailStart = 8 - tailParts.length - v4Groups;
  for (let k = 0; k < tailParts.length; k++) if (!putHex(tailParts[k]!, tailStart + k)) return false;
  if (v4 >= 0) {
    groups[6] = v4 >>> 16;
    groups[7] = v4 & 0xffff;
  }
  return true;
}

function ipv4Key(value: number, prefix: number): string {
  const masked = prefix >= 32 ? value : prefix <= 0 ? 0 : (value & ~(0xffffffff >>> prefix)) >>> 0;
  const key = `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}`;
  return prefix >= 32 ? key : `${key}/${prefix}`;
}

/**
 * The key `ip` is grouped under: IPv4 cut to `v4Prefix` bits, IPv6 to `v6Prefix` bits. An address
 * that does not parse is its own group (never throws: the client address comes from the socket).
 */
export function clientGroupKey(ip: string, v4Prefix: number, v6Prefix: number): string {
  const v4 = parseIPv4(ip);
  if (v4 >= 0) return v4Prefix >= 32 ? ip : ipv4Key(v4, v4Prefix);
  if (!ip.includes(":") || !parseIPv6(ip)) return ip;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return ipv4Key(groups[6]! * 65536 + groups[7]!, v4Prefix);
  }
  let key = "";
  for (let k = 0; k < 8; k++) {
    const bits = Math.min(16, Math.max(0, v6Prefix - k * 16));
    const value = bits === 16 ? groups[k]! : bits === 0 ? 0 : groups[k]! & (0xffff << (16 - bits)) & 0xffff;
    key += k === 0 ? value.toString(16) : `:${value.toString(16)}`;
  }
  return v6Prefix >= 128 ? key : `${key}/${v6Prefix}`;
}
