/**
 * `tenbin ha keepalived|bird|announce ...`: setup help for a pair of tenbins (docs/ha.md). The
 * first two print a config for the engines that do the work (keepalived's VRRP, BIRD's BGP);
 * `announce` and `track` are the watchers that tie a BGP announcement or a keepalived track_file to
 * tenbin's readiness.
 */
import { flagValue, parseFlags, type ParsedArgs, UsageError } from "./args.ts";
import { parseAddress, parseDuration } from "../config/units.ts";
import { renderBird } from "./ha-bird.ts";
import { renderKeepalived } from "./ha-keepalived.ts";
import type { Runtime } from "../runtime/types.ts";

/** Usage of `tenbin ha`. */
export const HA_USAGE = `Usage:
  tenbin ha keepalived --vip 192.0.2.10/24 --interface eth0 [--priority 150] [--router-id 51]
                       [--advert 200ms] [--peer IP]... [--source IP] [--admin 127.0.0.1:9090]
                       [--pools] [--tenbin /usr/local/bin/tenbin] [--notify CMD] [--name tenbin]
                       [--nopreempt] [--track-file /run/tenbin-ready]
      print keepalived.conf for one node of an active/standby pair (the peer: a lower --priority);
      --track-file adds a file that tenbin ha track keeps up to date (sub-second detection)
  tenbin ha bird --service 192.0.2.80/32 --router-id 10.0.0.11 --as 65001
                 --neighbor 10.0.0.1 --neighbor-as 65000 [--neighbor ...] [--hold 3] [--keepalive 1]
                 [--bfd] [--protocol tenbin_service]
      print bird.conf for one node of an active/active pair announcing the service over BGP
  tenbin ha announce --protocol tenbin_service [--admin 127.0.0.1:9090] [--pools]
                     [--birdc "birdc -s /run/bird/bird.ctl"] [--interval 500ms] [--timeout 300ms]
                     [--rise 2] [--fall 1]
      keep the BGP announcement in step with tenbin's readiness (runs until SIGTERM, then withdraws)
  tenbin ha track --file /run/tenbin-ready [--admin 127.0.0.1:9090] [--pools] [--interval 100ms]
                  [--timeout 300ms] [--rise 2] [--fall 1]
      keep a keepalived track_file at 0 while tenbin is ready, 1 when not (runs until SIGTERM)
`;

const IPV4_CIDR = /^(\d{1,3})(\.\d{1,3}){3}\/\d{1,2}$/;
const IPV6_CIDR = /^[0-9a-fA-F:]+\/\d{1,3}$/;
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+)$/;

/** `tenbin ha ARGS` from main.ts: prints a config, or runs a watcher until SIGTERM/SIGINT. */
export async function haCommand(rest: readonly string[], runtime: Pick<Runtime, "stdout" | "stderr" | "onSignal">): Promise<number> {
  const [sub = "", ...more] = rest;
  if (sub === "help" || sub === "--help" || sub === "-h") {
    runtime.stdout(HA_USAGE);
    return 0;
  }
  if (sub !== "announce" && sub !== "track") {
    runtime.stdout(renderHa(sub, more));
    return 0;
  }
  const o = watchArgs(sub, more);
  if (o === undefined) {
    runtime.stdout(HA_USAGE);
    return 0;
  }
  const watch = await import("./ha-watch.ts");
  const log = (line: string) => runtime.stderr(`${new Date().toISOString()} ${line}\n`);
  const stop = new AbortController();
  runtime.onSignal("SIGTERM", () => stop.abort());
  runtime.onSignal("SIGINT", () => stop.abort());
  const action = sub === "announce" ? watch.birdAction(o.birdc, o.protocol, log) : watch.trackFileAction(o.file, log);
  return await watch.runReadinessWatch({
    ...o,
    action,
    // BIRD forgets an enable when it restarts; the track file is compared each round (cheap).
    resyncMs: sub === "announce" ? 5000 : 0,
    target: sub === "announce" ? o.protocol : o.file,
    fetch: (url, init) => fetch(url, init),
    log,
    signal: stop.signal,
  });
}

/** The rendering subcommands: args → config text (throws UsageError); with `--help`, the usage. */
export function renderHa(sub: string, rest: readonly string[]): string {
  if (sub === "keepalived") {
    const args = parseFlags("ha", rest, {
      vip: { value: true }, interface: { value: true }, priority: { value: true }, "router-id": { value: true },
      advert: { value: true }, peer: { value: true }, source: { value: true }, admin: { value: true }, pools: { value: false },
      tenbin: { value: true }, notify: { value: true }, name: { value: true }, nopreempt: { value: false }, "track-file": { value: true },
    });
    if (args.help) return HA_USAGE;
    noPositional(args);
    const vips = required(args, "vip", "the virtual address, e.g. --vip 192.0.2.10/24");
    for (const v of vips) if (!IPV4_CIDR.test(v) && !IPV6_CIDR.test(v)) throw new UsageError(`bad --vip "${v}"; expected an address with its prefix such as 192.0.2.10/24`);
    const iface = required(args, "interface", "the interface the address lives on, e.g. --interface eth0")[0]!;
    const advertMs = duration(args, "advert", "200ms");
    if (advertMs < 10 || advertMs > 40_950) throw new UsageError(`bad --advert "${flagValue(args, "advert", "")}"; VRRPv3 adverts are 10ms to 40.95s apart`);
    const admin = adminOf(args);
    const tenbin = flagValue(args, "tenbin", "/usr/local/bin/tenbin");
    const peers = args.flags.get("peer") ?? [];
    for (const p of [...peers, ...(args.flags.get("source") ?? [])]) if (!IP.test(p)) throw new UsageError(`bad address "${p}"; expected an IP address`);
    return renderKeepalived({
      vips,
      interface: iface,
      priority: integer(args, "priority", 100, 1, 254),
      routerId: integer(args, "router-id", 51, 1, 255),
      advertMs,
      peers,
      source: args.flags.get("source")?.at(-1),
      readyCommand: `${tenbin} ready --admin ${admin}${args.flags.has("pools") ? " --pools" : ""} --timeout 800ms`,
      notify: flagValue(args, "notify", "/usr/bin/logger -t tenbin-ha"),
      name: name(args),
      preempt: !args.flags.has("nopreempt"),
      trackFile: args.flags.get("track-file")?.at(-1),
    });
  }
  if (sub === "bird") {
    const args = parseFlags("ha", rest, {
      service: { value: true }, "router-id": { value: true }, as: { value: true }, neighbor: { value: true },
      "neighbor-as": { value: true }, hold: { value: true }, keepalive: { value: true }, bfd: { value: false }, protocol: { value: true },
    });
    if (args.help) return HA_USAGE;
    noPositional(args);
    const services = required(args, "service", "the service address, e.g. --service 192.0.2.80/32");
    for (const s of services) if (!IPV4_CIDR.test(s) && !IPV6_CIDR.test(s)) throw new UsageError(`bad --service "${s}"; expected an address with its prefix such as 192.0.2.80/32`);
    const routerId = required(args, "router-id", "a router id, usually the node's own IPv4 address")[0]!;
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(routerId)) throw new UsageError(`bad --router-id "${routerId}"; expected an IPv4 address`);
    const neighbors = required(args, "neighbor", "the router's address, e.g. --neighbor 10.0.0.1");
    const neighborAs = args.flags.get("neighbor-as") ?? [];
    if (neighborAs.length !== 1 && neighborAs.length !== neighbors.length) throw new UsageError("give one --neighbor-as for all neighbors or one per --neighbor");
    const asOf = (text: string) => asNumber(text, "--neighbor-as");
    const holdSec = integer(args, "hold", 3, 3, 65535);
    const keepaliveSec = integer(args, "keepalive", 1, 1, 65535);
    if (keepaliveSec * 3 > holdSec) throw new UsageError(`--keepalive ${keepaliveSec} is more than a third of --hold ${holdSec}`);
    return renderBird({
      services,
      routerId,
      localAs: asNumber(required(args, "as", "this node's AS, e.g. --as 65001")[0]!, "--as"),
      neighbors: neighbors.map((address, i) => {
        if (!IP.test(address)) throw new UsageError(`bad --neighbor "${address}"; expected an IP address`);
        return { address, as: asOf(neighborAs[neighborAs.length === 1 ? 0 : i]!) };
      }),
      holdSec,
      keepaliveSec,
      bfd: args.flags.has("bfd"),
      protocol: name(args, "protocol", "tenbin_service"),
    });
  }
  throw new UsageError(sub === "" ? "ha needs a subcommand: keepalived, bird, announce or track" : `unknown ha subcommand "${sub}"; expected keepalived, bird, announce or track`);
}

/** The options of `tenbin ha announce` and `tenbin ha track` (the loop is in ha-watch.ts); undefined for `--help`. */
export function watchArgs(sub: "announce" | "track", rest: readonly string[]) {
  const args = parseFlags("ha", rest, {
    protocol: { value: true }, birdc: { value: true }, file: { value: true }, admin: { value: true }, pools: { value: false },
    interval: { value: true }, timeout: { value: true }, rise: { value: true }, fall: { value: true },
  });
  if (args.help) return undefined;
  noPositional(args);
  if (sub === "announce" && args.flags.has("file")) throw new UsageError("--file belongs to tenbin ha track; announce takes --protocol");
  if (sub === "track" && (args.flags.has("protocol") || args.flags.has("birdc"))) throw new UsageError("--protocol and --birdc belong to tenbin ha announce; track takes --file");
  const intervalMs = duration(args, "interval", sub === "track" ? "100ms" : "500ms");
  return {
    protocol: name(args, "protocol", "tenbin_service"),
    birdc: flagValue(args, "birdc", "birdc").split(/\s+/).filter((p) => p !== ""),
    file: sub === "track" ? required(args, "file", "the keepalived track_file, e.g. --file /run/tenbin-ready")[0]! : "",
    admin: parseAddress(adminOf(args))!,
    pools: args.flags.has("pools"),
    intervalMs,
    timeoutMs: duration(args, "timeout", "300ms"),
    rise: integer(args, "rise", 2, 1, 100),
    fall: integer(args, "fall", 1, 1, 100),
  };
}

function noPositional(args: ParsedArgs): void {
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
}

function required(args: ParsedArgs, flag: string, what: string): string[] {
  const values = args.flags.get(flag);
  if (!values || values.length === 0) throw new UsageError(`--${flag} is missing: ${what}`);
  return values;
}

function integer(args: ParsedArgs, flag: string, fallback: number, min: number, max: number): number {
  const text = flagValue(args, flag, String(fallback));
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`bad --${flag} "${text}"; expected a whole number from ${min} to ${max}`);
  return n;
}

function duration(args: ParsedArgs, flag: string, fallback: string): number {
  const text = flagValue(args, flag, fallback);
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`bad duration "${text}" for --${flag}; expected e.g. ${fallback}`);
  return ms;
}

function adminOf(args: ParsedArgs): string {
  const text = flagValue(args, "admin", "127.0.0.1:9090");
  if (!parseAddress(text)) throw new UsageError(`bad address "${text}" for --admin; expected host:port such as 127.0.0.1:9090`);
  return text;
}

function name(args: ParsedArgs, flag = "name", fallback = "tenbin"): string {
  const text = flagValue(args, flag, fallback);
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(text)) throw new UsageError(`bad --${flag} "${text}"; expected letters, digits and '_'`);
  return text;
}

function asNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 4_294_967_295) throw new UsageError(`bad ${flag} "${text}"; expected an AS number such as 65001`);
  return n;
}
