/**
 * The primary's side of `workers: N`. The primary is a full tenbin (it serves traffic too, and runs
 * the admin plane, the health probes and the UDP listeners) and starts N-1 worker processes of the
 * same program that bind the same HTTP and TCP ports with reusePort; the kernel spreads connections
 * over the N processes. N-1 rather than N: N processes then use N cores, and the primary's extra
 * work (probes, admin, aggregation) is small next to serving its share of the traffic.
 *
 * It sends each worker the config in force and every server's health when it says hello, then
 * health changes, reloads, log reopens and the stop order. Workers report counters each second
 * (counters.ts). A worker that dies is logged and restarted after a delay that doubles from 100 ms
 * up to 10 s, and starts over once a worker has lived 30 s.
 */
import type { WorkerStatusJson } from "../admin/status.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../observe/log.ts";
import type { Runtime, WorkerProcess } from "../runtime/types.ts";
import type { Tenbin } from "../start.ts";
import { CounterMerger } from "./counters.ts";
import { HEALTH_SYNC_INTERVAL_MS, HealthDiff } from "./health-sync.ts";
import { isWorkerMessage, type PrimaryMessage, type WorkerMessage } from "./protocol.ts";
import { configForWorkers, resolveWorkerCount } from "./worker-config.ts";
import { answerRateTake } from "./rate-sync.ts";

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;
const STABLE_AFTER_MS = 30_000;

/** What the supervisor needs. */
export interface SupervisorOptions {
  runtime: Pick<Runtime, "spawnWorker">;
  logger: Logger;
  tenbin: Tenbin;
  /** Passed to workers for their logs; they get the config itself over IPC. */
  configFile: string;
  /** Processes in all, the primary included. */
  processes: number;
}

interface Slot {
  readonly id: number;
  worker: WorkerProcess | undefined;
  state: WorkerStatusJson["state"];
  /** `init` was sent: health changes and reloads go to it from now on. */
  initialized: boolean;
  restarts: number;
  delayMs: number;
  startedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  requests: number;
  connections: number;
}

/** Starts, feeds, restarts and stops the worker processes. */
export class WorkerSupervisor {
  readonly #options: SupervisorOptions;
  readonly #slots: Slot[] = [];
  readonly #diff = new HealthDiff();
  readonly #merger = new CounterMerger();
  readonly #healthTimer: ReturnType<typeof setInterval>;
  readonly #unsubscribe: () => void;
  #stopping = false;

  private constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#healthTimer = setInterval(() => this.#syncHealth(), HEALTH_SYNC_INTERVAL_MS);
    this.#unsubscribe = options.tenbin.onReload((config) => this.#reload(config));
    options.tenbin.setWorkerStatus(() => this.status());
  }

  /**
   * Starts `processes - 1` workers; undefined (after a warning) when the runtime cannot spawn
   * them (see `plannedProcesses`) or the config has nothing they could serve.
   */
  static start(options: SupervisorOptions): WorkerSupervisor | undefined {
    const { logger, tenbin, processes, runtime } = options;
    if (!runtime.spawnWorker) {
      logger.warn(`workers: ${processes} is not supported on this runtime; running one process`);
      return undefined;
    }
    if (configForWorkers(tenbin.config, tenbin.listeners).listeners.length === 0) {
      logger.warn(`workers: ${processes} asked, but only UDP listeners are configured and those stay in one process; running one process`);
      return undefined;
    }
    const supervisor = new WorkerSupervisor(options);
    for (let id = 1; id < processes; id++) {
      const slot: Slot = { id, worker: undefined, state: "starting", initialized: false, restarts: 0, delayMs: FIRST_DELAY_MS, startedAt: 0, timer: undefined, requests: 0, connections: 0 };
      supervisor.#slots.push(slot);
      supervisor.#spawn(slot);
    }
    logger.info(`workers: ${processes} processes serve the listeners (this primary, pid ${process.pid}, and ${processes - 1} worker${processes === 2 ? "" : "s"})`);
    return supervisor;
  }

  /** Every process and what it served, the primary first. */
  status(): WorkerStatusJson[] {
    const { tenbin } = this.#options;
    let requests = 0;
    for (const s of tenbin.metrics.listeners.values()) requests += s.total;
    let connections = 0;
    for (const s of tenbin.l4Stats.values()) connections += (s as { accepted?: number }).accepted ?? 0;
    const primary: WorkerStatusJson = {
      id: 0,
      pid: process.pid,
      state: this.#stopping ? "stopped" : "running",
      requests: Math.max(0, requests - this.#merger.addedRequests),
      connections: Math.max(0, connections - this.#merger.addedConnections),
      restarts: 0,
    };
    return [primary, ...this.#slots.map((s) => ({ id: s.id, pid: s.worker?.pid ?? null, state: s.state, requests: s.requests, connections: s.connections, restarts: s.restarts }))];
  }

  /** Tells every worker to reopen its access log files (SIGUSR1). */
  reopenLogs(): void {
    this.#broadcast({ type: "reopen-logs" });
  }

  /**
   * Tells every worker to stop (each finishes its in-flight requests, within `shutdown_timeout`)
   * and waits for them to exit; a worker still running `graceMs` later is killed.
   */
  async stop(graceMs = this.#options.tenbin.config.shutdown_timeout + 2000): Promise<boolean> {
    this.#stopping = true;
    this.#close();
    for (const slot of this.#slots) {
      clearTimeout(slot.timer);
      if (!slot.worker) slot.state = "stopped";
    }
    const live = this.#slots.flatMap((s) => (s.worker ? [s.worker] : []));
    for (const worker of live) worker.send({ type: "stop" } satisfies PrimaryMessage);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const all = Promise.all(live.map((w) => w.exited));
    const inTime = await Promise.race([all.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      this.#options.logger.warn(`workers: still running ${graceMs}ms after the stop order; killing them`);
      for (const worker of live) worker.kill("SIGKILL");
    }
    const exits = await all;
    return inTime && exits.every((e) => e.code === 0);
  }

  /** During `stop()`: tells every worker to cut its in-flight requests now (a second SIGTERM each). */
  hurry(): void {
    for (const slot of this.#slots) slot.worker?.kill("SIGTERM");
  }

  #close(): void {
    clearInterval(this.#healthTimer);
    this.#unsubscribe();
    this.#options.tenbin.setWorkerStatus(undefined);
  }

  #spawn(slot: Slot): void {
    const { runtime, configFile, logger } = this.#options;
    let worker: WorkerProcess | undefined;
    try {
      worker = runtime.spawnWorker!({
        args: ["worker", "--id", String(slot.id), "-c", configFile],
        onMessage: (message) => {
          if (worker && slot.worker === worker && isWorkerMessage(message)) this.#onMessage(slot, worker, message);
        },
      });
    } catch (error) {
      logger.error(`worker ${slot.id}: cannot start: ${(error as Error).message}`);
      this.#restartLater(slot);
      return;
    }
    Object.assign(slot, { worker, state: "starting", initialized: false, startedAt: performance.now(), requests: 0, connections: 0 });
    const started = worker;
    void started.exited.then((exit) => this.#onExit(slot, started, exit));
  }

  #onMessage(slot: Slot, worker: WorkerProcess, message: WorkerMessage): void {
    const { tenbin, logger } = this.#options;
    switch (message.type) {
      case "hello":
        // Pending changes go to the others first, so the new worker's picture and theirs agree.
        this.#syncHealth();
        worker.send({ type: "init", config: configForWorkers(tenbin.config, tenbin.listeners), health: this.#diff.current() } satisfies PrimaryMessage);
        slot.initialized = true;
        return;
      case "ready":
        slot.state = "running";
        logger.info(`worker ${slot.id} ready`, { pid: message.pid });
        return;
      case "counters":
        this.#merger.merge(slot.id, message.snapshot, tenbin);
        slot.requests = message.snapshot.requests;
        slot.connections = message.snapshot.connections;
        return;
      case "rate-take":
        void answerRateTake(message, (id, config) => tenbin.policyBuckets(id, config)).then((answer) => worker.send(answer));
        return;
      case "reloaded":
        if (!message.ok) logger.error(`worker ${slot.id}: reload failed; it keeps its previous config: ${message.message}`);
    }
  }

  #onExit(slot: Slot, worker: WorkerProcess, exit: { code: number | null; signal: string | null }): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.initialized = false;
    this.#merger.forget(slot.id);
    if (this.#stopping) {
      slot.state = "stopped";
      return;
    }
    if (performance.now() - slot.startedAt >= STABLE_AFTER_MS) slot.delayMs = FIRST_DELAY_MS;
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    this.#options.logger.error(`worker ${slot.id} (pid ${worker.pid}) ${how}; restarting it in ${slot.delayMs}ms`);
    this.#restartLater(slot);
  }

  #restartLater(slot: Slot): void {
    slot.state = "restarting";
    const delay = slot.delayMs;
    slot.delayMs = Math.min(MAX_DELAY_MS, slot.delayMs * 2);
    slot.timer = setTimeout(() => {
      if (this.#stopping) return;
      slot.restarts++;
      this.#spawn(slot);
    }, delay);
  }

  #syncHealth(): void {
    const changes = this.#diff.changes(this.#options.tenbin.pools);
    if (changes.length > 0) this.#broadcast({ type: "health", changes });
  }

  #reload(config: Config): void {
    const { tenbin, logger } = this.#options;
    const wanted = resolveWorkerCount(config.workers);
    if (wanted !== this.#slots.length + 1) logger.warn(`workers: the config now asks for ${wanted} processes; ${this.#slots.length + 1} keep running until tenbin restarts`);
    // The new servers' health first: a worker builds its new pools from what it knows.
    this.#syncHealth();
    this.#broadcast({ type: "reload", config: configForWorkers(config, tenbin.listeners) });
  }

  #broadcast(message: PrimaryMessage): void {
    for (const slot of this.#slots) if (slot.initialized) slot.worker?.send(message);
  }
}
