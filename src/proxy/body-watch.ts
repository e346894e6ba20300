/**
 * Wraps a long or unbounded response body so tenbin knows when it ends (the server stays counted in
 * flight until then) and cuts it when it stalls longer than the idle timeout. Short bodies skip this
 * so the runtime can pipe them natively.
 */
import type { Abortable } from "../util/abort.ts";

/** The body, passed through chunk by chunk; `done` runs once when it ends, fails or is cancelled. */
export function watchBody(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  controller: Abortable,
  done: () => void,
): ReadableStream<Uint8Array> {
  let lastActivity = performance.now();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(idleCheck);
    done();
  };
  // One coarse timer per stream instead of a timer reset per chunk.
  const idleCheck = setInterval(() => {
    if (performance.now() - lastActivity > idleMs) {
      controller.abort(new DOMException("idle timeout", "TimeoutError"));
      finish();
    }
  }, Math.max(50, Math.min(1000, idleMs / 4)));
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(out) {
      try {
        const { done: end, value } = await reader.read();
        lastActivity = performance.now();
        if (end) {
          out.close();
          finish();
        } else {
          out.enqueue(value);
        }
      } catch (error) {
        finish();
        out.error(error);
      }
    },
    cancel(reason) {
      finish();
      controller.abort(reason);
      return reader.cancel(reason).catch(() => undefined);
    },
  }, { highWaterMark: 0 });
}
