import { expect, test } from "bun:test";
import { BODY_TOO_LARGE, limitBody } from "../../src/proxy/body-limit.ts";

function streamOf(sizes: number[]): { stream: ReadableStream<Uint8Array>; cancelled: () => unknown } {
  let i = 0;
  let cancelled: unknown;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < sizes.length) c.enqueue(new Uint8Array(sizes[i++]!));
      else c.close();
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { stream, cancelled: () => cancelled };
}

test("a body up to the limit passes whole and never trips", async () => {
  let tripped = 0;
  const { stream } = streamOf([400, 400, 200]);
  const out = new Uint8Array(await new Response(limitBody(stream, 1000, () => tripped++)).arrayBuffer());
  expect(out.length).toBe(1000);
  expect(tripped).toBe(0);
});

test("one byte more fails the stream with BodyTooLargeError, cancels the source and trips once", async () => {
  let tripped = 0;
  const source = streamOf([600, 401, 5000]);
  const limited = limitBody(source.stream, 1000, () => tripped++);
  const reader = limited.getReader();
  expect((await reader.read()).value?.length).toBe(600);
  const error = await reader.read().then(() => undefined, (e: unknown) => e);
  expect((error as DOMException).name).toBe(BODY_TOO_LARGE);
  expect(tripped).toBe(1);
  expect(source.cancelled()).toBeDefined();
});

test("cancelling the limited stream cancels the source", async () => {
  const source = streamOf([10, 10, 10]);
  const limited = limitBody(source.stream, 1000, () => undefined);
  await limited.cancel("client went away");
  expect(source.cancelled()).toBe("client went away");
});
