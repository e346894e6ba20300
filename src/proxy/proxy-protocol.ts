/**
 * The PROXY protocol (HAProxy's, versions 1 and 2): one header in front of a TCP stream that tells
 * the next hop who the client really is. `encodeProxyHeader` writes one towards a backend;
 * `parseProxyHeader` reads one from a trusted upstream balancer, fed the bytes received so far.
 * Specification: https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt
 */
import { ipBytes } from "../util/cidr.ts";
import { lazyBuiltin } from "../util/lazy-builtin.ts";

const nodeNet = lazyBuiltin("node:net");

/** One end of a connection. */
export interface Endpoint {
  address: string;
  port: number;
}

/** What a PROXY header says. `source`/`destination` are absent for LOCAL and UNKNOWN headers. */
export interface ProxyHeader {
  version: 1 | 2;
  /** `local`: the upstream's own connection (a health check); use the socket's addresses. */
  command: "proxy" | "local";
  transport: "tcp" | "udp" | "unknown";
  source: Endpoint | undefined;
  destination: Endpoint | undefined;
}

/** The result of parsing the bytes received so far. */
export type ProxyParse =
  | { status: "incomplete" }
  | { status: "invalid"; reason: string }
  | { status: "ok"; header: ProxyHeader; /** Bytes the header took; the stream goes on after them. */ length: number };

/** The 12 bytes that open a version 2 header. */
export const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
/** Longest version 1 line, CRLF included (the specification's bound). */
export const V1_MAX_LENGTH = 107;
/** Longest header this parser waits for (version 2 carries a 16-bit length after 16 bytes). */
export const MAX_HEADER_LENGTH = 16 + 0xffff;

const V1_PREFIX = new TextEncoder().encode("PROXY ");
const encoder = new TextEncoder();

/**
 * The header announcing a connection from `source` to `destination` (the address the client
 * reached). Addresses of different families are written as IPv6; unparsable ones as UNKNOWN/LOCAL.
 */
export function encodeProxyHeader(version: 1 | 2, source: Endpoint, destination: Endpoint, transport: "tcp" | "udp" = "tcp"): Uint8Array {
  const pair = addressPair(source.address, destination.address);
  if (version === 1) {
    if (!pair || transport !== "tcp") return encoder.encode("PROXY UNKNOWN\r\n");
    const family = pair.src.length === 4 ? "TCP4" : "TCP6";
    return encoder.encode(`PROXY ${family} ${pair.srcText} ${pair.dstText} ${source.port} ${destination.port}\r\n`);
  }
  if (!pair) {
    const out = new Uint8Array(16);
    out.set(V2_SIGNATURE);
    out[12] = 0x20; // version 2, LOCAL; family UNSPEC, length 0
    return out;
  }
  const v4 = pair.src.length === 4;
  const body = v4 ? 12 : 36;
  const out = new Uint8Array(16 + body);
  out.set(V2_SIGNATURE);
  out[12] = 0x21; // version 2, PROXY
  out[13] = (v4 ? 0x10 : 0x20) | (transport === "tcp" ? 0x01 : 0x02);
  out[14] = body >> 8;
  out[15] = body & 0xff;
  out.set(pair.src, 16);
  out.set(pair.dst, 16 + pair.src.length);
  const ports = 16 + 2 * pair.src.length;
  out[ports] = source.port >> 8;
  out[ports + 1] = source.port & 0xff;
  out[ports + 2] = destination.port >> 8;
  out[ports + 3] = destination.port & 0xff;
  return out;
}

interface AddressPair {
  src: Uint8Array;
  dst: Uint8Array;
  srcText: string;
  dstText: string;
}

/** Both addresses in one family: IPv4 when both are (IPv4-mapped IPv6 counts), else IPv6. */
function addressPair(source: string, destination: string): AddressPair | undefined {
  const src = ipBytes(source);
  const dst = ipBytes(destination);
  if (!src || !dst) return undefined;
  if (src.length === dst.length) return { src, dst, srcText: ipText(src), dstText: ipText(dst) };
  const s6 = toV6(src);
  const d6 = toV6(dst);
  return { src: s6, dst: d6, srcText: ipText(s6), dstText: ipText(d6) };
}

function toV6(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 16) return bytes;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(bytes, 12);
  return out;
}

/** Dotted IPv4, or IPv6 in RFC 5952's short form (`::1`, `2001:db8::7`). */
function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(":");
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLength, 8)}`;
}

/** Reads a PROXY header at the start of `data` (all bytes received so far). */
export function parseProxyHeader(data: Uint8Array): ProxyParse {
  if (data.length === 0) return { status: "incomplete" };
  if (data[0] === 0x0d) return parseV2(data);
  if (data[0] === 0x50) return parseV1(data);
  return { status: "invalid", reason: "no PROXY protocol header" };
}

function startsWith(data: Uint8Array, prefix: Uint8Array): "yes" | "no" | "short" {
  const n = Math.min(data.length, prefix.length);
  for (let i = 0; i < n; i++) if (data[i] !== prefix[i]) return "no";
  return n < prefix.length ? "short" : "yes";
}

function parseV1(data: Uint8Array): ProxyParse {
  const prefix = startsWith(data, V1_PREFIX);
  if (prefix === "no") return { status: "invalid", reason: "no PROXY protocol header" };
  if (prefix === "short") return { status: "incomplete" };
  const limit = Math.min(data.length, V1_MAX_LENGTH);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit - 1; i++) {
    if (data[i] === 0x0d && data[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    return data.length >= V1_MAX_LENGTH
      ? { status: "invalid", reason: `PROXY v1 line longer than ${V1_MAX_LENGTH} bytes` }
      : { status: "incomplete" };
  }
  let line = "";
  for (let i = 0; i < end; i++) {
    const c = data[i]!;
    if (c < 0x20 || c > 0x7e) return { status: "invalid", reason: "PROXY v1 line has a byte that is not printable ASCII" };
    line += String.fromCharCode(c);
  }
  const length = end + 2;
  const parts = line.split(" ");
  if (parts[1] === "UNKNOWN") {
    return { status: "ok", length, header: { version: 1, command: "proxy", transport: "unknown", source: undefined, destination: undefined } };
  }
  if (parts.length !== 6) return { status: "invalid", reason: `bad PROXY v1 line ${JSON.stringify(line)}` };
  const [, family, srcIp = "", dstIp = "", srcPort = "", dstPort = ""] = parts;
  const isFamily = family === "TCP4" ? nodeNet().isIPv4 : family === "TCP6" ? nodeNet().isIPv6 : undefined;
  if (!isFamily) return { status: "invalid", reason: `unknown PROXY v1 protocol ${JSON.stringify(family)}; expected TCP4, TCP6 or UNKNOWN` };
  if (!isFamily(srcIp) || !isFamily(dstIp)) return { status: "invalid", reason: `bad ${family} address in PROXY v1 line ${JSON.stringify(line)}` };
  const sport = port(srcPort);
  const dport = port(dstPort);
  if (sport === undefined || dport === undefined) return { status: "invalid", reason: `bad port in PROXY v1 line ${JSON.stringify(line)}` };
  return {
    status: "ok",
    length,
    header: { version: 1, command: "proxy", transport: "tcp", source: { address: srcIp, port: sport }, destination: { address: dstIp, port: dport } },
  };
}

function port(text: string): number | undefined {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function parseV2(data: Uint8Array): ProxyParse {
  const signature = startsWith(data, V2_SIGNATURE);
  if (signature === "no") return { status: "invalid", reason: "no PROXY protocol header" };
  if (data.length < 16) return { status: "incomplete" };
  const verCmd = data[12]!;
  if (verCmd >> 4 !== 2) return { status: "invalid", reason: `unsupported PROXY protocol version ${verCmd >> 4}` };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { status: "invalid", reason: `unknown PROXY v2 command ${cmd}` };
  const famProto = data[13]!;
  const family = famProto >> 4;
  const proto = famProto & 0x0f;
  const bodyLength = (data[14]! << 8) | data[15]!;
  const length = 16 + bodyLength;
  if (data.length < length) return { status: "incomplete" };
  if (family > 3 || proto > 2) return { status: "invalid", reason: `unknown PROXY v2 address family or protocol 0x${famProto.toString(16)}` };
  const transport: ProxyHeader["transport"] = proto === 1 ? "tcp" : proto === 2 ? "udp" : "unknown";
  const none = { version: 2 as const, transport, source: undefined, destination: undefined };
  if (cmd === 0) return { status: "ok", length, header: { ...none, command: "local" } };
  // UNSPEC and UNIX addresses say nothing usable about an IP client: keep the socket's.
  if (family === 0 || family === 3 || proto === 0) return { status: "ok", length, header: { ...none, command: "proxy", transport: "unknown" } };
  const size = family === 1 ? 4 : 16;
  if (bodyLength < 2 * size + 4) return { status: "invalid", reason: `PROXY v2 address block of ${bodyLength} bytes is too short` };
  const src = data.subarray(16, 16 + size);
  const dst = data.subarray(16 + size, 16 + 2 * size);
  const at = 16 + 2 * size;
  return {
    status: "ok",
    length,
    header: {
      version: 2,
      command: "proxy",
      transport,
      source: { address: ipText(src), port: (data[at]! << 8) | data[at + 1]! },
      destination: { address: ipText(dst), port: (data[at + 2]! << 8) | data[at + 3]! },
    },
  };
}
