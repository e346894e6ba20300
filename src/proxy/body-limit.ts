/**
 * The `max_body` limit for request bodies without a Content-Length (chunked uploads). Declared lengths
 * are refused by the listener before anything is forwarded; an undeclared one can only be counted as
 * it streams. tenbin enforces both itself rather than leaving it to the runtime, whose refusal carries
 * no request id and never reaches the access log.
 */

/** The error a cut body fails with; `forward` answers 413 when it sees the limit was hit. */
export const BODY_TOO_LARGE = "BodyTooLargeError";

/**
 * `body` passed through until more than `max` bytes went by; then the stream fails (which fails the
 * upstream request) and `onExceeded` runs once.
 */
export function limitBody(body: ReadableStream<Uint8Array>, max: number, onExceeded: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(out) {
      const { done, value } = await reader.read();
      if (done) return out.close();
      seen += value.byteLength;
      if (seen <= max) return out.enqueue(value);
      onExceeded();
      const error = new DOMException(`request body over ${max} bytes`, BODY_TOO_LARGE);
      out.error(error);
      await reader.cancel(error).catch(() => undefined);
    },
    cancel(reason) {
      return reader.cancel(reason).catch(() => undefined);
    },
  }, { highWaterMark: 0 });
}
