/**
 * The PROXY protocol header (v1 or v2) that opens every connection of an `accept_proxy` listener on
 * tenbin's own HTTP server, read off the first bytes before any request (proxy/proxy-protocol.ts
 * parses it; the TCP listener reads it the same way).
 */
import { Buffer } from "node:buffer";
import { MAX_HEADER_LENGTH, parseProxyHeader } from "../../proxy/proxy-protocol.ts";
import type { ClientInfo } from "../../runtime/types.ts";
import { unmapIpv4 } from "../../util/cidr.ts";

/** The header read: the client it names (undefined: the peer itself, a LOCAL header) and the bytes after it. */
export type ProxyHeaderRead = { client: ClientInfo | undefined; rest: Buffer } | { refused: string };

/** Collects a connection's first bytes until its PROXY header is whole. */
export class ProxyHeaderReader {
  #bytes: Buffer | undefined;

  /** Feeds bytes; undefined while the header is still incomplete. */
  read(chunk: Buffer): ProxyHeaderRead | undefined {
    const data = this.#bytes === undefined ? chunk : Buffer.concat([this.#bytes, chunk]);
    const parsed = parseProxyHeader(data);
    if (parsed.status === "incomplete") {
      if (data.length > MAX_HEADER_LENGTH) return { refused: "PROXY header too long" };
      this.#bytes = data;
      return undefined;
    }
    if (parsed.status === "invalid") return { refused: parsed.reason };
    const { header } = parsed;
    const client = header.command === "proxy" && header.source ? { address: unmapIpv4(header.source.address), port: header.source.port } : undefined;
    return { client, rest: data.subarray(parsed.length) };
  }
}
