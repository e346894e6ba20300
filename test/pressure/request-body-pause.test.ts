// Slow-draining uploads (issue 21, item 1), third pass: a request body's reader that took a chunk
// and has not come back for more (it is passing the chunk on to a server that may have stopped
// draining) finds the client paused, so nothing more is read into tenbin meanwhile. Before, the
// client was read until 64 KB were queued, plus the read that crossed the mark (up to 512 KB).
import { expect, test } from "bun:test";
import { RequestBody } from "../../src/listener/h1-server/request.ts";

/** A BodySource that records what the body asked of the connection. */
function recordingSource() {
  const calls: string[] = [];
  return {
    calls,
    source: {
      pauseReading: (slow = true) => void calls.push(slow ? "pause slow" : "pause"),
      resumeReading: () => void calls.push("resume"),
      bodyWanted: () => {}, // (the place for 100 Continue: asked at each wait, sent once)
      slowReader: () => void calls.push("slow"),
    },
  };
}

const bytes = (n: number) => new Uint8Array(n).fill(1);

test("the client is paused from the moment the reader takes the last queued chunk until it asks again", async () => {
  const { calls, source } = recordingSource();
  const body = new RequestBody(source);
  const first = body.next(); // the reader waits: a chunk goes straight to it
  body.push(bytes(1000));
  expect((await first)!.byteLength).toBe(1000);
  // Taken and being passed on: the client waits (not as a slow client: its reads stay unlimited).
  expect(calls).toEqual(["pause"]);
  const second = body.next(); // back for more: read the client again
  expect(calls).toEqual(["pause", "resume"]);
  body.push(bytes(2000));
  expect((await second)!.byteLength).toBe(2000);
  expect(calls).toEqual(["pause", "resume", "pause"]);
  const last = body.next();
  body.push(bytes(3));
  body.end();
  expect((await last)!.byteLength).toBe(3);
  expect(await body.next()).toBeUndefined();
});

test("before the reader starts, up to 64 KB are taken; then the client waits as a slow one", async () => {
  const { calls, source } = recordingSource();
  const body = new RequestBody(source);
  body.push(bytes(40_000));
  expect(calls).toEqual([]);
  body.push(bytes(40_000));
  expect(calls).toEqual(["pause slow"]);
  // The reader takes what is queued without the client being read meanwhile, then asks again.
  expect((await body.next())!.byteLength).toBe(40_000);
  expect((await body.next())!.byteLength).toBe(40_000);
  expect(calls).toEqual(["pause slow"]);
  const more = body.next();
  expect(calls).toEqual(["pause slow", "resume"]);
  body.push(bytes(10));
  body.end();
  expect((await more)!.byteLength).toBe(10);
  // The body is complete: nothing more to read, no pause for it.
  expect(calls).toEqual(["pause slow", "resume"]);
});

test("a reader that comes back late (it waited for its server) has the client read in small pieces from then on, once", async () => {
  const { calls, source } = recordingSource();
  const body = new RequestBody(source);
  const first = body.next();
  body.push(bytes(1000));
  await first;
  const quick = body.next(); // back at once: no verdict
  expect(calls).toEqual(["pause", "resume"]);
  body.push(bytes(1000));
  await quick;
  await Bun.sleep(30); // passing it on took a while: the server is slower than the client
  const late = body.next();
  expect(calls).toEqual(["pause", "resume", "pause", "slow", "resume"]);
  body.push(bytes(1000));
  await late;
  await Bun.sleep(30);
  const again = body.next();
  expect(calls).toEqual(["pause", "resume", "pause", "slow", "resume", "pause", "resume"]); // told once
  body.end();
  expect(await again).toBeUndefined();
});
