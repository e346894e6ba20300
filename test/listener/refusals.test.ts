// What both engines refuse before any server sees it (the own server in its parser, the runtime's
// in listener/runtime-refusals.ts): CONNECT (405), two Host lines, equal or not (400), an invalid
// Host (400), and a Transfer-Encoding that is not exactly chunked (501); the backend sees none.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { answer, type RawBackend, startRawBackend } from "../helpers/raw-http-backend.ts";
import { startTenbinInProcess } from "../helpers/tenbin.ts";

let backend: RawBackend;
let t: Awaited<ReturnType<typeof startTenbinInProcess>>;

beforeAll(async () => {
  backend = await startRawBackend((_req, conn) => conn.send(answer("backend")));
  t = await startTenbinInProcess(`
admin: { enabled: false }
listeners:
  - { name: tenbin, engine: tenbin, listen: 127.0.0.1:0, routes: [{ pool: raw }] }
  - { name: runtime, engine: runtime, listen: 127.0.0.1:0, routes: [{ pool: raw }] }
pools:
  raw: { servers: [{ url: "${backend.origin}" }] }
`);
});

afterAll(async () => {
  await t?.stop();
  await backend?.stop();
});

/** The status line of the answer to `data` on a new connection (1.5 s at most). */
function statusOf(port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    const finish = () => (clearTimeout(timer), socket.destroy(), resolve(text.split("\r\n")[0] ?? ""));
    const timer = setTimeout(finish, 1500);
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      if (text.includes("\r\n")) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
    socket.write(data);
  });
}

const CASES: [string, string, number][] = [
  ["CONNECT in authority form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405],
  ["CONNECT in origin form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 405],
  ["two different Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["two equal Host lines", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400],
  ["a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
  ["Transfer-Encoding: ,chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501],
  ["Transfer-Encoding: chunked,", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501],
];

for (const engine of ["tenbin", "runtime"]) {
  describe(`engine: ${engine}`, () => {
    for (const [what, data, status] of CASES) {
      test(`${what} is refused with ${status} and never reaches the server`, async () => {
        const before = backend.requests.length;
        expect(await statusOf(t.port(engine), data)).toStartWith(`HTTP/1.1 ${status} `);
        expect(backend.requests.length).toBe(before);
      });
    }

    test("an ordinary request passes (the refusals are not everything)", async () => {
      expect(await statusOf(t.port(engine), "POST / HTTP/1.1\r\nHost: a:80\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")).toBe("HTTP/1.1 200 OK");
    });
  });
}
