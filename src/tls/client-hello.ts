/**
 * Reads the server name (SNI) and ALPN protocols out of the first bytes of a TLS connection without
 * terminating it, for passthrough routing (HAProxy `req.ssl_sni`, nginx `ssl_preread`). Pure: the
 * caller feeds everything received so far and gets "incomplete" until the whole ClientHello is in.
 * The hello may be cut across reads and spread over several handshake records (RFC 8446 §5.1).
 */

/** The facts of a ClientHello that routes match on. */
export interface ClientHelloFacts {
  /** The host_name of the server_name extension, lower-cased; undefined when the client sent none. */
  serverName: string | undefined;
  /** Protocols of the ALPN extension, in the client's order; empty when it sent none. */
  alpn: string[];
}

/** Outcome of reading the bytes received so far. */
export type ClientHelloResult =
  | { status: "incomplete" }
  | { status: "invalid"; reason: string }
  | { status: "complete"; hello: ClientHelloFacts };

/** Default bound of a ClientHello (with post-quantum key shares a hello is ~1.8 KB; 16 KiB is HAProxy's buffer). */
export const DEFAULT_MAX_HELLO = 16 * 1024;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
/** Largest TLSPlaintext fragment (RFC 8446 §5.1). */
const MAX_FRAGMENT = 1 << 14;

const INCOMPLETE: ClientHelloResult = { status: "incomplete" };
const latin1 = new TextDecoder("latin1");

/**
 * Reads the ClientHello at the start of `data` (every byte the client sent so far). `maxBytes`
 * bounds the hello as sent (record headers included): a longer one is refused, not waited for.
 */
export function readClientHello(data: Uint8Array, maxBytes = DEFAULT_MAX_HELLO): ClientHelloResult {
  // Gather the handshake bytes of the records received so far.
  const parts: Uint8Array[] = [];
  let handshakeBytes = 0;
  let at = 0;
  let needed = -1; // the hello's whole length once its handshake header is in
  while (true) {
    if (data.length - at < RECORD_HEADER) {
      if (at === 0 && data.length > 0 && data[0] !== CONTENT_HANDSHAKE) return notTls(data);
      return at + RECORD_HEADER > maxBytes ? tooLarge(maxBytes) : INCOMPLETE;
    }
    const type = data[at]!;
    const major = data[at + 1]!;
    const length = (data[at + 3]! << 8) | data[at + 4]!;
    if (type !== CONTENT_HANDSHAKE) return at === 0 ? notTls(data) : invalid(`a record of type ${type} interrupts the ClientHello`);
    if (major !== 3) return invalid(`record version ${major}.${data[at + 2]} is not TLS`);
    if (length === 0 || length > MAX_FRAGMENT) return invalid(`handshake record of ${length} bytes`);
    if (at + RECORD_HEADER + length > maxBytes) return tooLarge(maxBytes);
    const end = Math.min(data.length, at + RECORD_HEADER + length);
    parts.push(data.subarray(at + RECORD_HEADER, end));
    handshakeBytes += end - at - RECORD_HEADER;
    at = end;
    if (needed < 0 && handshakeBytes >= 4) {
      const head = gather(parts, handshakeBytes, 4);
      if (head[0] !== HANDSHAKE_CLIENT_HELLO) return invalid(`first handshake message is type ${head[0]}, not a ClientHello`);
      needed = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
      // Each record adds a header: at least this many bytes on the wire.
      if (needed + RECORD_HEADER > maxBytes) return tooLarge(maxBytes);
    }
    if (needed >= 0 && handshakeBytes >= needed) break;
    if (at >= data.length) return INCOMPLETE;
  }
  const body = gather(parts, handshakeBytes, needed).subarray(4);
  return parseBody(body);
}

function parseBody(body: Uint8Array): ClientHelloResult {
  const r = new Reader(body);
  r.skip(2 + 32); // legacy_version, random
  r.skip(r.u8()); // legacy_session_id
  r.skip(r.u16()); // cipher_suites
  r.skip(r.u8()); // legacy_compression_methods
  if (r.failed) return invalid("ClientHello is cut short");
  const hello: ClientHelloFacts = { serverName: undefined, alpn: [] };
  if (r.left === 0) return { status: "complete", hello }; // no extensions (TLS 1.0-era clients)
  const extLength = r.u16();
  const extEnd = r.at + extLength;
  if (extEnd > body.length) return invalid("ClientHello extensions overrun the message");
  while (!r.failed && r.at < extEnd) {
    const type = r.u16();
    const length = r.u16();
    const end = r.at + length;
    if (end > extEnd) return invalid(`extension ${type} overruns the extension block`);
    if (type === EXT_SERVER_NAME) {
      const listLength = r.u16();
      const listEnd = Math.min(r.at + listLength, end);
      while (!r.failed && r.at < listEnd) {
        const nameType = r.u8();
        const name = r.bytes(r.u16());
        if (nameType === 0 && hello.serverName === undefined && name) hello.serverName = latin1.decode(name).toLowerCase();
      }
    } else if (type === EXT_ALPN) {
      const listLength = r.u16();
      const listEnd = Math.min(r.at + listLength, end);
      while (!r.failed && r.at < listEnd) {
        const proto = r.bytes(r.u8());
        if (proto) hello.alpn.push(latin1.decode(proto));
      }
    }
    if (r.failed || r.at > end) return invalid(`extension ${type} is malformed`);
    r.at = end;
  }
  if (r.failed) return invalid("ClientHello is cut short");
  return { status: "complete", hello };
}

/** The first `count` bytes of `parts` in one array (no copy when the first part holds them). */
function gather(parts: readonly Uint8Array[], total: number, count: number): Uint8Array {
  const first = parts[0]!;
  if (first.length >= count) return first.subarray(0, count);
  const out = new Uint8Array(Math.min(total, count));
  let at = 0;
  for (const p of parts) {
    if (at >= out.length) break;
    const take = p.subarray(0, out.length - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}

function notTls(data: Uint8Array): ClientHelloResult {
  const first = data[0]!;
  // Printable ASCII first: most likely plain HTTP or another text protocol on the TLS port.
  const looksText = first >= 0x20 && first < 0x7f;
  const preview = looksText ? ` (starts with ${JSON.stringify(latin1.decode(data.subarray(0, Math.min(8, data.length))))})` : ` (first byte 0x${first.toString(16).padStart(2, "0")})`;
  return invalid(`not a TLS ClientHello${preview}`);
}

function tooLarge(maxBytes: number): ClientHelloResult {
  return invalid(`ClientHello larger than max_hello (${maxBytes} bytes)`);
}

function invalid(reason: string): ClientHelloResult {
  return { status: "invalid", reason };
}

/** Bounds-checked reads; a read past the end sets `failed` and answers zeros. */
class Reader {
  at = 0;
  failed = false;
  readonly #b: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }
  get left(): number {
    return this.#b.length - this.at;
  }
  u8(): number {
    if (this.at + 1 > this.#b.length) return this.#fail();
    return this.#b[this.at++]!;
  }
  u16(): number {
    if (this.at + 2 > this.#b.length) return this.#fail();
    const v = (this.#b[this.at]! << 8) | this.#b[this.at + 1]!;
    this.at += 2;
    return v;
  }
  skip(n: number): void {
    if (this.at + n > this.#b.length) this.#fail();
    else this.at += n;
  }
  bytes(n: number): Uint8Array | undefined {
    if (this.at + n > this.#b.length) {
      this.#fail();
      return undefined;
    }
    const out = this.#b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  #fail(): number {
    this.failed = true;
    this.at = this.#b.length;
    return 0;
  }
}
