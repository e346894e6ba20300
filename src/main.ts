/**
 * tenbin's entry: argv → command. The only importer of src/runtime/ (through `loadRuntime`).
 */
// Only what `run` needs before its first request is imported here; the other commands, the demo
// backends and the worker processes load their modules when used (start-up time, bench/startup.ts).
import { isIP } from "node:net";
import process from "node:process";
import { listOption, parseCommandArgs, stringOption, UsageError } from "./cli/args.ts";
import { type CommandName, COMMANDS, USAGE } from "./cli/commands.ts";
import { ConfigError, formatConfigIssue, type ConfigIssue } from "./config/config-error.ts";
import { loadConfigFileFast } from "./config/fast-load.ts";
import type { LoadOptions } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { parseDuration } from "./config/units.ts";
import { type ConfigWatch, watchConfigFile } from "./admin/watch.ts";
import { createLogger, isLogLevel, type LogLevel } from "./observe/log.ts";
import { loadRuntime } from "./runtime/index.ts";
import type { HttpServer, Runtime } from "./runtime/types.ts";
import { announceReady } from "./cli/ready-file.ts";
import { EXIT_REQUESTS_CUT, Tenbin } from "./start.ts";
import { VERSION } from "./version.ts";
import { plannedProcesses } from "./workers/worker-config.ts";


/** Loads the config file with the runtime's native YAML parser where it has one (src/config/fast-load.ts). */
function loadConfigFile(runtime: Runtime, file: string, options: LoadOptions = {}): Promise<Config> {
  return loadConfigFileFast(file, runtime.envAll(), { ...options, parseYaml: runtime.parseYaml });
}

/** The log level from --log-level or TENBIN_LOG_LEVEL; a bad value is a usage error. */
function logLevel(runtime: Runtime, flag: string | undefined): LogLevel {
  const value = flag ?? runtime.env("TENBIN_LOG_LEVEL") ?? "info";
  if (!isLogLevel(value)) throw new UsageError(`bad log level "${value}"; expected debug, info, warn or error`);
  return value;
}

function makeLogger(runtime: Runtime, level: LogLevel) {
  return createLogger({ write: runtime.stderr, level, json: runtime.env("TENBIN_LOG_FORMAT") === "json" });
}

async function main(runtime: Runtime): Promise<number> {
  const [first = "help", ...rest] = runtime.args();
  const out = (text: string) => runtime.stdout(text);
  if (first === "help" || first === "--help" || first === "-h") {
    const topic = rest[0];
    out(topic !== undefined && topic in COMMANDS ? COMMANDS[topic as CommandName].usage : USAGE);
    return 0;
  }
  const command = first === "--version" || first === "-V" ? "version" : first;
  if (!(command in COMMANDS)) throw new UsageError(`unknown command "${command}"`);
  const name = command as CommandName;
  // `ready` and `ha` (with its subcommands) parse their own flags.
  if (name === "ready") {
    const { readyCommand } = await import("./cli/ready.ts");
    return await readyCommand(rest, { write: out, loadConfig: (file) => loadConfigFile(runtime, file) });
  }
  if (name === "ha") {
    const { haCommand } = await import("./cli/ha.ts");
    return await haCommand(rest, runtime);
  }
  const args = parseCommandArgs(name, rest, COMMANDS[name]);
  if (args.help) {
    out(COMMANDS[name].usage);
    return 0;
  }
  switch (name) {
    case "version":
      out(`tenbin ${VERSION} (${runtime.name} ${runtime.version})\n`);
      return 0;
    case "schema":
      out((await import("./config/reference.ts")).renderJsonSchema());
      return 0;
    case "check": {
      const files = [...listOption(args, "config"), ...args.positionals];
      const { runCheckCommand } = await import("./cli/check.ts");
      return await runCheckCommand(files.length > 0 ? files : ["tenbin.yaml"], {
        json: args.values.json === true,
        load: (file, options) => loadConfigFile(runtime, file, options),
        loadText: async (text, file, options) => (await import("./config/load.ts")).loadConfigText(text, file, runtime.envAll(), options),
        readStdin: async () => (await import("node:stream/consumers")).text(process.stdin),
        // What breaks an HA pair on this host: a listener on an address it lacks, without nonlocal bind.
        hostWarnings: async (config) => {
          const { bindWarnings, hostBindFacts } = await import("./cli/check-bind.ts");
          const facts = hostBindFacts();
          return facts ? bindWarnings(config, facts) : [];
        },
        stdout: out,
        stderr: runtime.stderr,
      });
    }
    case "hash-password": {
      if (args.positionals.length > 0) throw new UsageError("hash-password reads the password from standard input, not from the command line", "hash-password");
      const { hashPasswordCommand } = await import("./cli/hash-password.ts");
      out(await hashPasswordCommand(runtime, stringOption(args, "algorithm", "bcrypt")));
      return 0;
    }
    case "route": {
      const [method, url] = args.positionals as [string, string];
      const config = await loadConfigFile(runtime, stringOption(args, "config", "tenbin.yaml"));
      const { explainRoute, formatRouteAnswer, routeMismatches } = await import("./cli/route.ts");
      const rawStatus = stringOption(args, "expect-status");
      const status = rawStatus === undefined ? undefined : Number(rawStatus);
      if (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 599)) {
        throw new UsageError(`bad status "${rawStatus}" for --expect-status; expected a number such as 404`, "route");
      }
      const clientIp = stringOption(args, "client-ip");
      if (clientIp !== undefined && isIP(clientIp) === 0) throw new UsageError(`bad address "${clientIp}" for --client-ip; expected an IP address such as 203.0.113.7`, "route");
      const answer = explainRoute(config, { method, url, headers: listOption(args, "header"), listener: stringOption(args, "listener"), ...(clientIp === undefined ? {} : { clientIp }) });
      const mismatches = routeMismatches(answer, { pool: stringOption(args, "expect-pool"), status });
      if (args.values.json === true) out(`${JSON.stringify({ ...answer, ok: answer.error === undefined && mismatches.length === 0, mismatches })}\n`);
      else out(formatRouteAnswer(answer));
      for (const m of mismatches) runtime.stderr(`tenbin route: ${m}\n`);
      // "No route" is the answer a --expect-status 404 asks for; otherwise no listener or route fails.
      const expectedError = answer.status !== null && status === answer.status;
      return mismatches.length > 0 || (answer.error !== undefined && !expectedError) ? 1 : 0;
    }
    case "probe": {
      const wait = stringOption(args, "wait", "0s");
      const waitMs = parseDuration(wait);
      if (waitMs === undefined) throw new UsageError(`bad duration "${wait}" for --wait; expected e.g. 30s`, "probe");
      const config = await loadConfigFile(runtime, stringOption(args, "config", "tenbin.yaml"));
      const { runProbeCommand } = await import("./cli/probe.ts");
      return await runProbeCommand(config, { all: args.values.all === true, json: args.values.json === true, waitMs, fetch: runtime.fetchUpstream, write: out, progress: runtime.stderr });
    }
    case "run":
    case "demo": {
      const level = logLevel(runtime, stringOption(args, "log-level"));
      // Worker processes inherit the environment: they log at the same level.
      process.env.TENBIN_LOG_LEVEL = level;
      const readyWhen = stringOption(args, "ready-when", "bound");
      if (readyWhen !== "bound" && readyWhen !== "healthy") throw new UsageError(`bad value "${readyWhen}" for --ready-when; expected bound or healthy`, name);
      const options: RunOptions = { demo: name === "demo", level, readyFile: stringOption(args, "ready-file"), readyWhen };
      // `tenbin demo` without -c runs the built-in demo config, so the binary needs no file.
      if (name === "demo" && args.values.config === undefined) return await run(runtime, await embeddedDemoSource(runtime), options);
      return await run(runtime, fileSource(runtime, stringOption(args, "config", "tenbin.yaml")), options);
    }
    case "worker": {
      const logger = makeLogger(runtime, logLevel(runtime, undefined));
      const { runWorker } = await import("./workers/worker-process.ts");
      return await runWorker(runtime, logger, Number(stringOption(args, "id", "1")), stringOption(args, "config", "tenbin.yaml"));
    }
  }
}

/** Where `run` reads its config: a file (watched, reloaded) or a built-in text (the demo's). */
interface ConfigSource {
  /** The file name, or the name the built-in text is reported under. */
  name: string;
  /** Set for a file on disk: watched with `watch: true` and handed to worker processes. */
  file?: string;
  load(options: LoadOptions): Promise<Config>;
}

function fileSource(runtime: Runtime, file: string): ConfigSource {
  return { name: file, file, load: (options) => loadConfigFile(runtime, file, options) };
}

async function embeddedDemoSource(runtime: Runtime): Promise<ConfigSource> {
  const { DEMO_CONFIG_NAME, DEMO_CONFIG_YAML } = await import("./cli/demo-config.ts");
  const { loadConfigText } = await import("./config/load.ts");
  return { name: DEMO_CONFIG_NAME, load: async (options) => loadConfigText(DEMO_CONFIG_YAML, DEMO_CONFIG_NAME, runtime.envAll(), options) };
}

/** How `run` was asked to run. */
interface RunOptions {
  demo: boolean;
  level: LogLevel;
  readyFile: string | undefined;
  readyWhen: "bound" | "healthy";
}

async function run(runtime: Runtime, source: ConfigSource, options: RunOptions): Promise<number> {
  const { demo } = options;
  const logger = makeLogger(runtime, options.level);
  const onWarning = (w: ConfigIssue) => logger.warn(formatConfigIssue(w));
  const file = source.file ?? source.name;
  const config = await source.load({ onWarning });
  const backends: HttpServer[] = demo ? await (await import("./cli/demo.ts")).startDemoBackends(config, runtime) : [];
  const processes = plannedProcesses(config.workers, runtime, logger);
  const tenbin = await Tenbin.start(config, {
    runtime,
    logger,
    reusePort: processes > 1,
    loadConfig: () => source.load({ onWarning }),
    configSource: source.name,
  });
  if (demo) {
    const first = tenbin.listeners[0];
    if (first) {
      const url = `http://${first.hostname}:${first.port}/`;
      runtime.stdout(`tenbin demo: ${backends.length} demo backends behind ${url}\n  try: curl -s ${url}   (repeat it: the backend rotates)\n`);
    }
    const admin = tenbin.adminAddress;
    if (admin) runtime.stdout(`  dashboard: http://${admin.hostname}:${admin.port}/\n`);
  }
  // The file is watched while `watch` of the config in force is on (a reload may turn it on or off);
  // not watching otherwise keeps fs.watch, a few ms, off the start of configs without it.
  let watcher: ConfigWatch | undefined;
  const followWatch = (current: Config) => {
    if (current.watch && !watcher && source.file !== undefined) {
      watcher = watchConfigFile(file, () => {
        if (tenbin.config.watch) void tenbin.reloadFromSource("watch");
      }, { onError: (message) => tenbin.config.watch && logger.warn(message) });
    } else if (!current.watch && watcher) {
      watcher.close();
      watcher = undefined;
    }
  };
  followWatch(config);
  tenbin.onReload(followWatch);
  const workers = processes > 1 ? (await import("./workers/supervisor.ts")).WorkerSupervisor.start({ runtime, logger, tenbin, configFile: file, processes }) : undefined;
  const readiness = new AbortController();
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: the operator will not wait for the shutdown timeout.
        logger.warn(`${signal} again: stopping at once`);
        tenbin.hurry(`second signal (${signal})`);
        workers?.hurry();
        return;
      }
      stopping = true;
      readiness.abort();
      runtime.notifySystemd?.("STOPPING=1");
      watcher?.close();
      logger.info(`${signal}: stopping; waiting for in-flight requests`);
      void Promise.all([tenbin.stop(), workers?.stop() ?? true]).then(async ([clean, workersClean]) => {
        await Promise.all(backends.map((b) => b.stop(true)));
        if (clean && workersClean) {
          logger.info("stopped");
          resolve(0);
        } else {
          logger.warn(`stopped; requests in flight were cut (exit code ${EXIT_REQUESTS_CUT})`);
          resolve(EXIT_REQUESTS_CUT);
        }
      });
    };
    runtime.onSignal("SIGTERM", () => stop("SIGTERM"));
    runtime.onSignal("SIGINT", () => stop("SIGINT"));
    // SIGHUP, the file watch and POST /api/reload share one path: Tenbin.reloadFromSource.
    runtime.onSignal("SIGHUP", () => void tenbin.reloadFromSource("SIGHUP"));
    runtime.onSignal("SIGUSR1", () => {
      tenbin.reopenLogs();
      workers?.reopenLogs();
    });
    // Announced only now that the signal handlers are in place: a SIGTERM sent the moment the
    // ready file appears stops tenbin gracefully.
    void announceReady(tenbin, { runtime, logger, file: options.readyFile, when: options.readyWhen, signal: readiness.signal });
  });
}

const runtime = await loadRuntime();
try {
  runtime.exit(await main(runtime));
} catch (error) {
  if (error instanceof UsageError) {
    const usage = error.command !== undefined && error.command in COMMANDS ? COMMANDS[error.command as CommandName].usage : USAGE;
    runtime.stderr(`tenbin: ${error.message}\n\n${usage}`);
    runtime.exit(2);
  }
  if (error instanceof ConfigError) {
    runtime.stderr(`${error.format()}\n`);
    runtime.exit(1);
  }
  runtime.stderr(`tenbin: ${error instanceof Error ? error.message : String(error)}\n`);
  runtime.exit(1);
}
