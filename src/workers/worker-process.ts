/**
 * A worker process of `workers: N` (`tenbin worker`, started by the primary, never by hand). It
 * says hello, receives the config in force and every server's health, binds the HTTP and TCP
 * listeners with reusePort beside the primary, and from then on follows the primary: health
 * changes, reloads, log reopens, the stop order. It runs no probes, no admin plane and no file
 * watch, and reports its counters every second. When the primary goes away it stops too.
 */
import type { LogFields, Logger } from "../observe/log.ts";
import type { ParentChannel, Runtime } from "../runtime/types.ts";
import { EXIT_REQUESTS_CUT, Tenbin } from "../start.ts";
import { systemClock } from "../util/clock.ts";
import { takeSnapshot } from "./counters.ts";
import { RemoteHealth } from "./health-sync.ts";
import { RateClient } from "./rate-sync.ts";
import { isPrimaryMessage, type PrimaryMessage, type WorkerMessage } from "./protocol.ts";

/** How often a worker reports its counters, in ms. */
export const COUNTER_REPORT_MS = 1000;

/** A logger that adds `worker=<id>` to every line, so the shared standard error tells processes apart. */
export function workerLogger(logger: Logger, id: number): Logger {
  const withId = (fields?: LogFields): LogFields => ({ worker: id, ...fields });
  return {
    debug: (m, f) => logger.debug(m, withId(f)),
    info: (m, f) => logger.info(m, withId(f)),
    warn: (m, f) => logger.warn(m, withId(f)),
    error: (m, f) => logger.error(m, withId(f)),
  };
}

/** Runs a worker until it is told to stop (or its primary is gone); resolves with the exit code. */
export async function runWorker(runtime: Runtime, baseLogger: Logger, id: number, configFile: string): Promise<number> {
  const channel = runtime.parentChannel();
  if (!channel) throw new Error("tenbin worker is started by `tenbin run` for `workers: N`, not by hand");
  const logger = workerLogger(baseLogger, id);
  const send = (message: WorkerMessage) => channel.send(message);
  const inbox = new Inbox(channel);
  send({ type: "hello", pid: process.pid });
  const init = await inbox.waitForInit();
  if (!init) return 0; // the primary went away (or said stop) before the worker started
  const health = new RemoteHealth(systemClock);
  health.apply(init.health, undefined);
  // Messages that arrive while the listeners bind wait in the inbox, in order.
  const rates = new RateClient(send, logger);
  const tenbin = await Tenbin.start(init.config, { runtime, logger, reusePort: true, joinsPorts: true, remoteHealth: health.seed, configSource: configFile, remoteBuckets: rates.factory });
  send({ type: "ready", pid: process.pid });

  const report = () => send({ type: "counters", snapshot: takeSnapshot(tenbin) });
  const reporter = setInterval(report, COUNTER_REPORT_MS);
  // Reloads one at a time, in the order the primary sent them.
  let reloads = Promise.resolve();
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) {
        tenbin.hurry(`${why} while stopping`); // a second signal (the primary's hurry is a SIGTERM)
        return;
      }
      stopping = true;
      clearInterval(reporter);
      logger.info(`${why}: stopping; waiting for in-flight requests`);
      void reloads.then(() => tenbin.stop()).then((clean) => {
        report(); // the last counts reach the primary if it still listens
        resolve(clean ? 0 : EXIT_REQUESTS_CUT);
      });
    };
    runtime.onSignal("SIGTERM", () => stop("SIGTERM"));
    runtime.onSignal("SIGINT", () => stop("SIGINT"));
    // A terminal's hang-up reaches the whole process group; only the primary reloads, then tells us.
    runtime.onSignal("SIGHUP", () => logger.info("SIGHUP ignored in a worker; the primary reloads the workers"));
    runtime.onSignal("SIGUSR1", () => tenbin.reopenLogs());
    inbox.deliver(() => stop("primary gone"), (message) => {
      if (stopping) return;
      switch (message.type) {
        case "health":
          health.apply(message.changes, tenbin.pools);
          return;
        case "reload":
          reloads = reloads.then(() => tenbin.reload(message.config)).then(
            () => {
              logger.info("config reloaded, as the primary did");
              send({ type: "reloaded", ok: true, message: "" });
            },
            (error: unknown) => send({ type: "reloaded", ok: false, message: error instanceof Error ? error.message : String(error) }),
          );
          return;
        case "reopen-logs":
          tenbin.reopenLogs();
          return;
        case "rate-result":
          rates.deliver(message);
          return;
        case "stop":
          stop("stop order from the primary");
          return;
        case "init":
          return;
      }
    });
  });
}

type InitMessage = Extract<PrimaryMessage, { type: "init" }>;

/** The primary's messages, queued in order until the worker has a handler for them. */
class Inbox {
  readonly #queue: PrimaryMessage[] = [];
  #handler: ((message: PrimaryMessage) => void) | undefined;
  #gone = false;
  #onGone: (() => void) | undefined;

  constructor(channel: ParentChannel) {
    channel.onMessage((message) => {
      if (!isPrimaryMessage(message)) return;
      if (this.#handler) this.#handler(message);
      else this.#queue.push(message);
    });
    channel.onDisconnect(() => {
      this.#gone = true;
      this.#onGone?.();
    });
  }

  /** The `init` message; undefined when `stop` or a disconnect comes first. */
  waitForInit(): Promise<InitMessage | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (init: InitMessage | undefined) => {
        settled = true;
        this.#handler = undefined;
        this.#onGone = undefined;
        resolve(init);
      };
      if (this.#gone) return settle(undefined);
      this.#onGone = () => settle(undefined);
      this.#handler = (message) => {
        if (message.type === "init") settle(message);
        else if (message.type === "stop") settle(undefined);
      };
      // Anything that came before (nothing should: the worker says hello first) is looked at first.
      while (!settled && this.#queue.length > 0) this.#handler(this.#queue.shift()!);
    });
  }

  /** Hands every queued and later message to `handler`; `onGone` when the primary disconnects. */
  deliver(onGone: () => void, handler: (message: PrimaryMessage) => void): void {
    this.#handler = handler;
    this.#onGone = onGone;
    for (const message of this.#queue.splice(0)) handler(message);
    if (this.#gone) onGone();
  }
}
