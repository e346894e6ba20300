/**
 * tenbin's entry: argv → command. The only importer of src/runtime/ (through `loadRuntime`).
 */
// Only what `run` needs before its first request is imported here; the other commands, the demo
// backends and the worker processes load their modules when used (start-up time, bench/startup.ts).
import { flagValue, parseArgs, UsageError, type FlagSpec } from "./cli/args.ts";
import { ConfigError, formatConfigIssue, type ConfigIssue } from "./config/config-error.ts";
import { loadConfigFileFast } from "./config/fast-load.ts";
import type { LoadOptions } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { parseDuration } from "./config/units.ts";
import { type ConfigWatch, watchConfigFile } from "./admin/watch.ts";
import { createLogger } from "./observe/log.ts";
import { loadRuntime } from "./runtime/index.ts";
import type { HttpServer, Runtime } from "./runtime/types.ts";
import { Tenbin } from "./start.ts";
import { VERSION } from "./version.ts";
import { plannedProcesses } from "./workers/worker-config.ts";

const USAGE = `tenbin ${VERSION} — a load balancer for HTTP, HTTPS, TCP and UDP

Usage:
  tenbin run [-c FILE]              run the balancer (default config ./tenbin.yaml)
  tenbin check [-c] FILE            validate a config; exit 0 when valid, 1 with its errors
  tenbin route -c FILE METHOD URL [-H 'Name: value']...
                                    show the listener, route, pool and next server of a request
  tenbin probe -c FILE [--all] [--wait 30s]
                                    probe every server once; exit 0 when each pool has a healthy one
  tenbin demo [-c FILE]             start demo backends for the config's loopback servers, then run
  tenbin schema                     print the config's JSON Schema
  tenbin version                    print the version
  tenbin help                       print this text

Signals: SIGHUP reloads the config, SIGUSR1 reopens access logs, SIGTERM/SIGINT stop gracefully.
`;

const CONFIG_FLAG: FlagSpec = { config: { value: true, alias: "c" } };

/** Loads the config file with the runtime's native YAML parser where it has one (src/config/fast-load.ts). */
function loadConfigFile(runtime: Runtime, file: string, options: LoadOptions = {}): Promise<Config> {
  return loadConfigFileFast(file, runtime.envAll(), { ...options, parseYaml: runtime.parseYaml });
}

async function main(runtime: Runtime): Promise<number> {
  const [command = "help", ...rest] = runtime.args();
  const out = (text: string) => runtime.stdout(text);
  switch (command) {
    case "help":
    case "--help":
    case "-h":
      out(USAGE);
      return 0;
    case "version":
    case "--version":
      out(`tenbin ${VERSION} (${runtime.name} ${runtime.version})\n`);
      return 0;
    case "schema":
      parseArgs(rest, {});
      out((await import("./config/reference.ts")).renderJsonSchema());
      return 0;
    case "check": {
      const args = parseArgs(rest, CONFIG_FLAG);
      const file = flagValue(args, "config", args.positional[0] ?? "tenbin.yaml");
      // Warnings (an expired certificate) do not fail the check; they go to standard error.
      const onWarning = (w: ConfigIssue) => runtime.stderr(`${formatConfigIssue({ ...w, message: `warning: ${w.message}` })}\n`);
      const config = await loadConfigFile(runtime, file, { onWarning });
      out(`${file}: ok (${config.listeners.length} listeners, ${Object.keys(config.pools).length} pools)\n`);
      return 0;
    }
    case "route": {
      const args = parseArgs(rest, { ...CONFIG_FLAG, header: { value: true, alias: "H" } });
      const [method, url] = args.positional;
      if (!method || !url || args.positional.length > 2) throw new UsageError("route needs METHOD and URL");
      const config = await loadConfigFile(runtime, flagValue(args, "config", "tenbin.yaml"));
      const { explainRoute } = await import("./cli/route.ts");
      out(explainRoute(config, method, url, args.flags.get("header") ?? []));
      return 0;
    }
    case "probe": {
      const args = parseArgs(rest, { ...CONFIG_FLAG, all: { value: false }, wait: { value: true } });
      if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
      const wait = flagValue(args, "wait", "0s");
      const waitMs = parseDuration(wait);
      if (waitMs === undefined) throw new UsageError(`bad duration "${wait}" for --wait; expected e.g. 30s`);
      const config = await loadConfigFile(runtime, flagValue(args, "config", "tenbin.yaml"));
      const { runProbeCommand } = await import("./cli/probe.ts");
      return await runProbeCommand(config, { all: args.flags.has("all"), waitMs, fetch: runtime.fetchUpstream, write: out });
    }
    case "run":
    case "demo": {
      const args = parseArgs(rest, CONFIG_FLAG);
      if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
      const demo = command === "demo";
      // `tenbin demo` without -c runs the built-in demo config, so the binary needs no file.
      if (demo && !args.flags.has("config")) return await run(runtime, await embeddedDemoSource(runtime), true);
      return await run(runtime, fileSource(runtime, flagValue(args, "config", "tenbin.yaml")), demo);
    }
    case "worker": {
      // Not for people: `tenbin run` starts these for `workers: N` (src/workers/).
      const args = parseArgs(rest, { ...CONFIG_FLAG, id: { value: true } });
      const logger = createLogger({ write: runtime.stderr, json: runtime.env("TENBIN_LOG_FORMAT") === "json" });
      const { runWorker } = await import("./workers/worker-process.ts");
      return await runWorker(runtime, logger, Number(flagValue(args, "id", "1")), flagValue(args, "config", "tenbin.yaml"));
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
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

async function run(runtime: Runtime, source: ConfigSource, demo: boolean): Promise<number> {
  const logger = createLogger({ write: runtime.stderr, json: runtime.env("TENBIN_LOG_FORMAT") === "json" });
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
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      watcher?.close();
      logger.info(`${signal}: stopping; waiting for in-flight requests`);
      void Promise.all([tenbin.stop(), workers?.stop()]).then(async () => {
        await Promise.all(backends.map((b) => b.stop(true)));
        logger.info("stopped");
        resolve(0);
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
  });
}

const runtime = await loadRuntime();
try {
  runtime.exit(await main(runtime));
} catch (error) {
  if (error instanceof UsageError) {
    runtime.stderr(`tenbin: ${error.message}\n\n${USAGE}`);
    runtime.exit(2);
  }
  if (error instanceof ConfigError) {
    runtime.stderr(`${error.format()}\n`);
    runtime.exit(1);
  }
  runtime.stderr(`tenbin: ${error instanceof Error ? error.message : String(error)}\n`);
  runtime.exit(1);
}
