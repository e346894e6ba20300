/**
 * The ClientHello reader, fed real hellos (captured from node:tls and `openssl s_client`), each
 * split at every byte, re-cut into several records, and spoiled in the ways a client can.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { connect } from "node:tls";
import { readClientHello } from "../../src/tls/client-hello.ts";

let server: Server;
let port = 0;
const captured: ((b: Uint8Array) => void)[] = [];
beforeAll(async () => {
  // Keeps what each client sends in its first 200 ms, then closes: the hello is all of it.
  server = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    setTimeout(() => {
      captured.shift()?.(new Uint8Array(Buffer.concat(chunks)));
      socket.destroy();
    }, 200);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server.close());

async function capture(options: { servername?: string; ALPNProtocols?: string[] }): Promise<Uint8Array> {
  const got = new Promise<Uint8Array>((resolve) => captured.push(resolve));
  const socket = connect({ host: "127.0.0.1", port, ...options, rejectUnauthorized: false });
  socket.on("error", () => undefined);
  const hello = await got;
  socket.destroy();
  return hello;
}

/** The handshake bytes of `hello` cut into records of `size` bytes each. */
function recut(hello: Uint8Array, size: number): Uint8Array {
  const body = hello.subarray(5, 5 + ((hello[3]! << 8) | hello[4]!));
  const out: number[] = [];
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size);
    out.push(22, 3, 1, part.length >> 8, part.length & 0xff, ...part);
  }
  return new Uint8Array(out);
}

describe("readClientHello", () => {
  test("reads the server name and ALPN protocols of a real hello, split at every byte", async () => {
    const hello = await capture({ servername: "Api.Example.COM", ALPNProtocols: ["h2", "http/1.1"] });
    const whole = readClientHello(hello);
    expect(whole).toEqual({ status: "complete", hello: { serverName: "api.example.com", alpn: ["h2", "http/1.1"] } });
    for (let cut = 0; cut < hello.length; cut++) {
      const part = readClientHello(hello.subarray(0, cut));
      if (part.status !== "incomplete") throw new Error(`cut at ${cut}: ${JSON.stringify(part)}`);
    }
  });

  test("a hello without SNI or ALPN has neither", async () => {
    const hello = await capture({});
    expect(readClientHello(hello)).toEqual({ status: "complete", hello: { serverName: undefined, alpn: [] } });
  });

  test("a hello spread over several records, split at every byte", async () => {
    const hello = await capture({ servername: "b.test", ALPNProtocols: ["acme-tls/1"] });
    for (const size of [1, 7, 100]) {
      const recut_ = recut(hello, size);
      expect(readClientHello(recut_, 1 << 20)).toEqual({ status: "complete", hello: { serverName: "b.test", alpn: ["acme-tls/1"] } });
      for (let cut = 0; cut < recut_.length; cut++) {
        const part = readClientHello(recut_.subarray(0, cut), 1 << 20);
        if (part.status !== "incomplete") throw new Error(`records of ${size}, cut at ${cut}: ${JSON.stringify(part)}`);
      }
    }
  });

  test("bytes after the hello (early data) are left alone", async () => {
    const hello = await capture({ servername: "a.test" });
    const more = new Uint8Array([...hello, 23, 3, 3, 0, 1, 0]);
    expect(readClientHello(more)).toMatchObject({ status: "complete", hello: { serverName: "a.test" } });
  });

  test("what is not a TLS hello is refused at once, with a reason", () => {
    const http = new TextEncoder().encode("GET / HTTP/1.1\r\n");
    expect(readClientHello(http.subarray(0, 1))).toEqual({ status: "invalid", reason: 'not a TLS ClientHello (starts with "G")' });
    expect(readClientHello(http)).toEqual({ status: "invalid", reason: 'not a TLS ClientHello (starts with "GET / HT")' });
    // SSLv2-style hello, an alert record, a record of another version, a handshake of another type.
    expect(readClientHello(new Uint8Array([0x80, 0x2e, 1]))).toMatchObject({ status: "invalid", reason: "not a TLS ClientHello (first byte 0x80)" });
    expect(readClientHello(new Uint8Array([21, 3, 3, 0, 2, 2, 40]))).toMatchObject({ status: "invalid" });
    expect(readClientHello(new Uint8Array([22, 2, 0, 0, 4, 1, 0, 0, 0]))).toMatchObject({ status: "invalid", reason: "record version 2.0 is not TLS" });
    expect(readClientHello(new Uint8Array([22, 3, 1, 0, 4, 2, 0, 0, 0]))).toMatchObject({ status: "invalid", reason: "first handshake message is type 2, not a ClientHello" });
    expect(readClientHello(new Uint8Array([22, 3, 1, 0, 0]))).toMatchObject({ status: "invalid", reason: "handshake record of 0 bytes" });
  });

  test("a hello larger than the limit is refused as soon as its length says so", async () => {
    const hello = await capture({ servername: "a.test" });
    expect(readClientHello(hello, hello.length)).toMatchObject({ status: "complete" });
    // The record header already names more than the limit: no need to wait for the rest.
    expect(readClientHello(hello.subarray(0, 5), hello.length - 1)).toMatchObject({ status: "invalid", reason: `ClientHello larger than max_hello (${hello.length - 1} bytes)` });
    // Several small records: the handshake header's length gives it away.
    const cut = recut(hello, 16);
    expect(readClientHello(cut.subarray(0, 30), 200)).toMatchObject({ status: "invalid" });
  });

  test("a hello whose inner lengths lie is refused", async () => {
    const hello = await capture({ servername: "a.test" });
    const spoiled = new Uint8Array(hello);
    // Session id length (after 5 + 4 + 2 + 32 bytes) made to run past the end.
    spoiled[43] = 0xff;
    const bigger = new Uint8Array(spoiled.length);
    bigger.set(spoiled);
    expect(readClientHello(bigger).status).toBe("invalid");
    // The handshake message says it is shorter than its fixed fields.
    const short = new Uint8Array([22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]);
    expect(readClientHello(short)).toEqual({ status: "invalid", reason: "ClientHello is cut short" });
  });
});
