/**
 * The runtime socket adapters keep one contract (`socket-types.ts`); one suite runs against each,
 * with raw Bun sockets on the other end. It pins the Bun facts bun-sockets.ts is built on.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { bunSockets } from "../../src/runtime/bun-sockets.ts";
import { nodeSockets } from "../../src/runtime/node-sockets.ts";
import type { TcpConn, TcpEvents } from "../../src/runtime/types.ts";

type Adapter = typeof bunSockets;

/** Records what a connection's events reported. */
function recorder() {
  const chunks: Uint8Array[] = [];
  const seen = { ended: false, closed: false, error: undefined as Error | undefined, drains: 0 };
  let onChange = () => {};
  const events: TcpEvents = {
    data: (c) => (chunks.push(c), onChange()),
    drain: () => (seen.drains++, onChange()),
    end: () => ((seen.ended = true), onChange()),
    close: (e) => ((seen.closed = true), (seen.error = e), onChange()),
  };
  const until = (what: string, predicate: () => boolean, ms = 3000) =>
    new Promise<void>((resolve, reject) => {
      if (predicate()) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      onChange = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  const text = () => Buffer.concat(chunks).toString();
  const bytes = () => chunks.reduce((n, c) => n + c.length, 0);
  return { events, seen, until, text, bytes, chunks };
}

/** A raw Bun peer server recording what it gets and exposing its socket. */
function rawServer(onData?: (s: Bun.Socket<undefined>, d: Uint8Array) => void) {
  const state = { socket: undefined as Bun.Socket<undefined> | undefined, received: 0, ended: false, closed: false, text: "" };
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open: (s) => void (state.socket = s),
      data: (s, d) => {
        state.received += d.length;
        if (state.text.length < 1000) state.text += Buffer.from(d).toString();
        onData?.(s, d);
      },
      end: () => void (state.ended = true),
      close: () => void (state.closed = true),
    },
  });
  return { state, port: listener.port, stop: () => listener.stop(true) };
}

async function waitFor(what: string, predicate: () => boolean, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

function runSocketCases(name: string, adapter: Adapter) {
  describe(`${name} TCP`, () => {
    test("a write the kernel cannot take answers false, keeps the bytes, and drains in order", async () => {
      const server = rawServer();
      const rec = recorder();
      const conn: TcpConn = await adapter.connectTcp({ hostname: "127.0.0.1", port: server.port, events: rec.events });
      await waitFor("accept", () => server.state.socket !== undefined);
      server.state.socket!.pause(); // the peer stops reading: buffers fill
      const block = crypto.getRandomValues(new Uint8Array(256 * 1024));
      const sent = createHash("sha256");
      let writes = 0;
      while (writes < 200 && conn.write(block)) {
        sent.update(block);
        writes++;
      }
      sent.update(block); // the write that answered false still took its bytes
      expect(writes).toBeLessThan(200);
      expect(conn.pending).toBeGreaterThan(0);
      server.state.socket!.resume();
      await rec.until("drain", () => rec.seen.drains > 0);
      expect(conn.pending).toBe(0);
      await waitFor("all bytes", () => server.state.received === (writes + 1) * block.length);
      conn.end();
      server.stop();
    });

    test("writeBorrowed copies what the kernel does not take, so the caller may write over its buffer at once", async () => {
      const got = createHash("sha256");
      const server = rawServer((_s, d) => void got.update(d));
      const rec = recorder();
      const conn: TcpConn = await adapter.connectTcp({ hostname: "127.0.0.1", port: server.port, events: rec.events });
      await waitFor("accept", () => server.state.socket !== undefined);
      server.state.socket!.pause(); // the peer stops reading: buffers fill
      const scratch = new Uint8Array(256 * 1024);
      const sent = createHash("sha256");
      let total = 0;
      let refused = 0;
      // Past the first refusal too: a borrowed write behind queued bytes must be copied as well.
      for (let writes = 0; writes < 200 && refused < 3; writes++) {
        for (let at = 0; at < scratch.length; at += 65536) crypto.getRandomValues(scratch.subarray(at, at + 65536));
        const length = scratch.length - writes; // not the whole buffer: only `length` bytes go
        sent.update(scratch.subarray(0, length));
        total += length;
        if (!conn.writeBorrowed(scratch, length)) refused++;
      }
      expect(refused).toBe(3);
      scratch.fill(0);
      server.state.socket!.resume();
      await waitFor("all bytes", () => server.state.received === total);
      expect(got.digest("hex")).toBe(sent.digest("hex"));
      conn.end();
      server.stop();
    });

    test("shutdownWrite sends FIN and the connection still reads; the peer's FIN arrives as end", async () => {
      const server = rawServer();
      const rec = recorder();
      const conn = await adapter.connectTcp({ hostname: "127.0.0.1", port: server.port, events: rec.events });
      await waitFor("accept", () => server.state.socket !== undefined);
      conn.write(new TextEncoder().encode("question"));
      conn.shutdownWrite();
      await waitFor("server sees FIN", () => server.state.ended);
      expect(server.state.text).toBe("question");
      server.state.socket!.write("answer");
      server.state.socket!.shutdown();
      await rec.until("answer and close", () => rec.text() === "answer" && rec.seen.closed);
      expect(rec.seen.error).toBeUndefined();
      server.stop();
    });

    test("an accepted connection reports the peer's FIN as end and can still answer", async () => {
      const rec = recorder();
      let accepted: TcpConn | undefined;
      const listener = await adapter.listenTcp({ hostname: "127.0.0.1", port: 0, accept: (c) => ((accepted = c), rec.events) });
      const got: string[] = [];
      const client = await Bun.connect({
        hostname: "127.0.0.1",
        port: listener.port,
        allowHalfOpen: true,
        socket: { data: (_s, d) => void got.push(Buffer.from(d).toString()), close: () => void got.push("<closed>") },
      });
      client.write("ping");
      client.shutdown();
      await rec.until("end", () => rec.seen.ended && rec.text() === "ping");
      expect(accepted!.remotePort).toBe(client.localPort);
      accepted!.write(new TextEncoder().encode("pong"));
      accepted!.end();
      await waitFor("pong and close", () => got.join("") === "pong<closed>");
      listener.stop();
    });

    test("pause stops data events until resume", async () => {
      const rec = recorder();
      let accepted: TcpConn | undefined;
      const listener = await adapter.listenTcp({ hostname: "127.0.0.1", port: 0, accept: (c) => ((accepted = c), rec.events) });
      const client = await Bun.connect({ hostname: "127.0.0.1", port: listener.port, socket: { data() {} } });
      await waitFor("accept", () => accepted !== undefined);
      accepted!.pause();
      client.write("while paused");
      await Bun.sleep(50); // nothing may arrive: there is no event to wait for
      expect(rec.bytes()).toBe(0);
      accepted!.resume();
      await rec.until("data", () => rec.text() === "while paused");
      client.end();
      listener.stop();
    });

    test("destroy resets the peer; a refused connect rejects", async () => {
      const server = rawServer();
      const conn = await adapter.connectTcp({ hostname: "127.0.0.1", port: server.port, events: recorder().events });
      await waitFor("accept", () => server.state.socket !== undefined);
      conn.destroy();
      await waitFor("peer closed", () => server.state.closed);
      server.stop();
      await expect(adapter.connectTcp({ hostname: "127.0.0.1", port: server.port, events: recorder().events })).rejects.toThrow();
    });
  });

  describe(`${name} UDP`, () => {
    test("datagrams go both ways with the sender's address", async () => {
      const got: string[] = [];
      const a = await adapter.udpSocket({ hostname: "127.0.0.1", port: 0, message: (d, addr, port) => void got.push(`${Buffer.from(d)} from ${addr}:${port}`) });
      const b = await adapter.udpSocket({ hostname: "127.0.0.1", port: 0, message: (d, addr, port) => void b.send(d, port, addr) });
      expect(a.send(new TextEncoder().encode("hello"), b.port, "127.0.0.1")).toBe(true);
      await waitFor("echo", () => got.length === 1);
      expect(got).toEqual([`hello from 127.0.0.1:${b.port}`]);
      a.close();
      b.close();
    });
  });
}

runSocketCases("bun-sockets", bunSockets);
runSocketCases("node-sockets", nodeSockets);
