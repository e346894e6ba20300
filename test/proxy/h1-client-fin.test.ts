/**
 * Idle keep-alive connections to a backend end with a FIN, not a reset, at the idle expiry and when
 * the client closes (a stop): backends otherwise log "connection reset by peer" once per pooled
 * connection and minute. The backend here is node:net, which tells an orderly end ('end') from a
 * reset ('error' ECONNRESET).
 */
import { expect, test } from "bun:test";
import { createServer, type Socket } from "node:net";
import { H1Client } from "../../src/proxy/h1-client/client.ts";
import { bunRuntime } from "../../src/runtime/bun.ts";

interface Ending { fin: boolean; reset: boolean; closed: boolean }

async function backend() {
  const endings: Ending[] = [];
  const server = createServer((socket: Socket) => {
    const ending: Ending = { fin: false, reset: false, closed: false };
    endings.push(ending);
    socket.on("data", () => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
    socket.on("end", () => {
      ending.fin = true;
      socket.end();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => void (ending.reset = error.code === "ECONNRESET"));
    socket.on("close", () => void (ending.closed = true));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { endings, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, stop: () => server.close() };
}

async function until(what: string, pred: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !pred(); i++) await Bun.sleep(20);
  if (!pred()) throw new Error(`timed out waiting for ${what}`);
}

test("an idle connection past its idle time is closed with a FIN", async () => {
  const b = await backend();
  const client = new H1Client({ connectTcp: bunRuntime.connectTcp, fallback: () => Promise.reject(new Error("no")), idleMs: 300 });
  try {
    expect(await (await client.fetch(`${b.origin}/`, {})).text()).toBe("ok");
    await until("the idle expiry", () => b.endings[0]?.closed === true);
    expect(b.endings[0]).toEqual({ fin: true, reset: false, closed: true });
  } finally {
    client.close();
    b.stop();
  }
});

test("close() (a stop) ends idle connections with a FIN", async () => {
  const b = await backend();
  const client = new H1Client({ connectTcp: bunRuntime.connectTcp, fallback: () => Promise.reject(new Error("no")) });
  try {
    await Promise.all([1, 2].map(async () => (await client.fetch(`${b.origin}/`, {})).text()));
    expect(b.endings).toHaveLength(2);
    client.close();
    await until("both closed", () => b.endings.every((e) => e.closed));
    expect(b.endings).toEqual([{ fin: true, reset: false, closed: true }, { fin: true, reset: false, closed: true }]);
  } finally {
    b.stop();
  }
});
