import { describe, expect, test } from "bun:test";
import { classifyFailure, isIdempotent } from "../../src/proxy/outcome.ts";
import { closedPort } from "../helpers/health-backends.ts";
import { startRawBackend } from "../helpers/backend-process.ts";

/** The error a real fetch rejects with, so the classification follows what the runtime throws. */
async function fetchError(url: string, init: RequestInit = {}): Promise<unknown> {
  try {
    await fetch(url, init);
  } catch (error) {
    return error;
  }
  throw new Error(`fetch ${url} did not fail`);
}

describe("classifyFailure on real fetch errors", () => {
  test("connection refused: connect (nothing was sent, safe to retry)", async () => {
    const { failure, reason } = classifyFailure(await fetchError(`http://127.0.0.1:${closedPort()}/`), new AbortController().signal);
    expect(failure).toBe("connect");
    expect(reason).toContain("ECONNREFUSED");
  });

  test("connection reset after the request was written: sent", async () => {
    const raw = await startRawBackend();
    try {
      const { failure, reason } = classifyFailure(await fetchError(`${raw.url}/reset`), undefined);
      expect(failure).toBe("sent");
      expect(reason).toStartWith("ECONNRESET");
    } finally {
      await raw.stop();
    }
  });

  test("our controller aborted with a TimeoutError: timeout; with anything else: the client left", () => {
    const timedOut = new AbortController();
    timedOut.abort(new DOMException("response timeout", "TimeoutError"));
    expect(classifyFailure(new Error("aborted"), timedOut.signal)).toEqual({ failure: "timeout", reason: "timeout: response timeout" });
    const gone = new AbortController();
    gone.abort(new DOMException("client went away", "AbortError"));
    expect(classifyFailure(new Error("aborted"), gone.signal).failure).toBe("client");
  });
});

describe("classifyFailure on error shapes", () => {
  test("codes on the error or its cause", () => {
    expect(classifyFailure({ code: "EHOSTUNREACH", message: "no route" }, undefined).failure).toBe("connect");
    expect(classifyFailure({ message: "fetch failed", cause: { code: "ECONNREFUSED" } }, undefined).failure).toBe("connect");
    expect(classifyFailure({ code: "DEPTH_ZERO_SELF_SIGNED_CERT", message: "self signed" }, undefined).failure).toBe("connect");
  });

  test("a TimeoutError without our signal is a timeout; unknown errors count as sent", () => {
    expect(classifyFailure(new DOMException("The operation timed out.", "TimeoutError"), undefined).failure).toBe("timeout");
    expect(classifyFailure(new Error("socket hang up\nmore detail"), undefined)).toEqual({ failure: "sent", reason: "socket hang up" });
    expect(classifyFailure("weird", undefined)).toEqual({ failure: "sent", reason: "weird" });
    expect(classifyFailure(undefined, undefined).failure).toBe("sent");
  });

  test("a refusal without a code is recognised by its message", () => {
    expect(classifyFailure(new Error("Unable to connect. Is the computer able to access the url?"), undefined).failure).toBe("connect");
  });
});

test("isIdempotent follows RFC 9110 (methods are case-sensitive)", () => {
  for (const m of ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]) expect(isIdempotent(m)).toBe(true);
  for (const m of ["POST", "PATCH", "CONNECT", "get", "PURGE"]) expect(isIdempotent(m)).toBe(false);
});
