import { describe, expect, test } from "bun:test";
import { describeProbeError, probeTarget } from "../../src/pool/health/probe-target.ts";
import { serverFor } from "../helpers/health-backends.ts";

const target = probeTarget(serverFor("http://127.0.0.1:9002"));

describe("describeProbeError", () => {
  test("Bun fetch and node:net errors with a code", () => {
    const refused = Object.assign(new TypeError("ECONNREFUSED: Unable to connect. Is the computer able to access the url?"), { code: "ECONNREFUSED" });
    expect(describeProbeError(refused, target)).toBe("connect ECONNREFUSED 127.0.0.1:9002");
    const reset = Object.assign(new TypeError("ECONNRESET: The socket connection was closed unexpectedly. For more information, pass `verbose: true`"), { code: "ECONNRESET" });
    expect(describeProbeError(reset, target)).toBe("connection reset by 127.0.0.1:9002 (ECONNRESET)");
    const dns = Object.assign(new TypeError("getaddrinfo ENOTFOUND api.internal"), { code: "ENOTFOUND" });
    expect(describeProbeError(dns, probeTarget(serverFor("http://api.internal:80")))).toBe("getaddrinfo ENOTFOUND api.internal");
    const tls = Object.assign(new Error("self signed certificate. Try again"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(describeProbeError(tls, target)).toBe("DEPTH_ZERO_SELF_SIGNED_CERT: self signed certificate");
  });

  test("Deno fetch errors, which only say it in words in their cause", () => {
    const cause = new Error("error sending request for url (http://127.0.0.1:9002/): client error (Connect): tcp connect error: Connection refused (os error 111)");
    expect(describeProbeError(new TypeError("fetch failed", { cause }), target)).toBe("connect ECONNREFUSED 127.0.0.1:9002");
  });

  test("IPv6 targets print in brackets, other errors keep their first sentence", () => {
    expect(probeTarget(serverFor("http://[::1]:8080")).label).toBe("[::1]:8080");
    expect(probeTarget(serverFor("https://[::1]:8443"), 9000).origin).toBe("https://[::1]:9000");
    expect(describeProbeError(new Error("Something odd. More advice here"), target)).toBe("Something odd");
    expect(describeProbeError("plain", target)).toBe("plain");
  });
});
