/**
 * The TCP probe: connect with node:net (the same code on every supported runtime); optionally send bytes and wait
 * for a reply containing a substring. The caller's signal (timeout or stop) destroys the socket.
 */
import type { Socket } from "node:net";
import type { HealthConfig } from "../../config/schema.ts";
import type { ProbeFn } from "./probe-target.ts";
import { lazyBuiltin } from "../../util/lazy-builtin.ts";

const nodeNet = lazyBuiltin("node:net");

/** The `health.tcp` section. */
export type TcpProbeConfig = NonNullable<HealthConfig["tcp"]>;

/** Longest reply kept while looking for `expect`; older bytes are dropped. */
const REPLY_LIMIT = 64 * 1024;

/** Builds a TCP probe. */
export function createTcpProbe(config: TcpProbeConfig): ProbeFn {
  const { send, expect } = config;
  return (target, signal) =>
    new Promise<string | undefined>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const socket: Socket = nodeNet().createConnection({ host: target.host, port: target.port });
      let reply = "";
      let settled = false;
      const finish = (err: unknown, reason: string | undefined): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        if (err !== undefined) reject(err);
        else resolve(reason);
      };
      const onAbort = (): void => finish(signal.reason ?? new Error("probe aborted"), undefined);
      signal.addEventListener("abort", onAbort, { once: true });

      socket.once("error", (err) => finish(err, undefined));
      socket.once("connect", () => {
        if (send !== undefined) {
          // Without `expect`, the probe passes once the bytes are handed to the kernel.
          socket.write(send, () => {
            if (expect === undefined) finish(undefined, undefined);
          });
        }
        if (expect === undefined && send === undefined) finish(undefined, undefined);
      });
      if (expect === undefined) return;
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        reply += chunk;
        if (reply.includes(expect)) {
          finish(undefined, undefined);
          return;
        }
        // Keep enough of the tail for a match that spans chunks.
        if (reply.length > REPLY_LIMIT) reply = reply.slice(-(expect.length + 1024));
      });
      socket.once("end", () => finish(undefined, `reply did not contain ${JSON.stringify(expect)}`));
      socket.once("close", () => finish(undefined, `reply did not contain ${JSON.stringify(expect)}`));
    });
}
