/**
 * What each command of `tenbin` accepts and its `--help` text; main.ts dispatches on these names.
 */
import type { CommandSpec } from "./args.ts";
import { VERSION } from "../version.ts";

/** The general usage (`tenbin help`, and after an unknown command). */
export const USAGE = `tenbin ${VERSION} — a load balancer for HTTP, HTTPS, TCP and UDP

Usage:
  tenbin run [-c FILE] [--ready-file FILE] [--log-level LEVEL]
                                    run the balancer (default config ./tenbin.yaml)
  tenbin check [--json] FILE...     validate configs (- reads standard input); exit 1 if any is invalid
  tenbin route -c FILE [--json] [--expect-pool NAME] METHOD URL [-H 'Name: value']...
                                    show the listener, route, pool and next server of a request
  tenbin probe -c FILE [--all] [--wait 30s] [--json]
                                    probe every server once; exit 0 when each pool has a healthy one
  tenbin ready [-c FILE | --admin HOST:PORT] [--pools] [--timeout 1s]
                                    ask a running tenbin if it is ready: exit 0 ready, 1 not ready
  tenbin ha keepalived|bird|announce|track ...
                                    setup help for a pair: keepalived, BIRD (tenbin ha help)
  tenbin hash-password [--algorithm bcrypt|argon2id]
                                    hash the password on standard input for basic_auth
  tenbin demo [-c FILE]             run the built-in demo: backends and config included
  tenbin schema                     print the config's JSON Schema
  tenbin version, -V                print the version
  tenbin COMMAND --help             the options of one command

Signals: SIGHUP reloads the config, SIGUSR1 reopens access logs, SIGTERM/SIGINT stop gracefully.
Environment: TENBIN_LOG_LEVEL (debug, info, warn, error), TENBIN_LOG_FORMAT=json.
`;

const RUN_USAGE = `Usage: tenbin run [-c FILE] [options]

Runs the balancer until SIGTERM or SIGINT.

  -c, --config FILE       the config (default ./tenbin.yaml)
  --ready-file FILE       once ready, write {"listeners": {NAME: URL}, "admin": URL} to FILE as JSON
                          (written whole, by rename); listeners may use port 0
  --ready-when WHEN       bound (default): every listener is bound; healthy: also every pool has a
                          usable server and each probed server had its first probe
  --log-level LEVEL       debug, info (default), warn or error; also TENBIN_LOG_LEVEL
  -h, --help              this text

Under systemd with Type=notify, READY=1 is sent at the same moment (see docs/operations.md).
`;

/** The options of `run`, which `demo` takes too. */
const RUN_OPTIONS = {
  config: { type: "string", short: "c" },
  "ready-file": { type: "string" },
  "ready-when": { type: "string" },
  "log-level": { type: "string" },
} satisfies CommandSpec["options"];

/** Every command: its options, positional count and usage. */
export const COMMANDS = {
  run: {
    usage: RUN_USAGE,
    options: RUN_OPTIONS,
    positionals: [0, 0],
  },
  demo: {
    usage: `Usage: tenbin demo [-c FILE] [options]\n\nStarts a small backend on each loopback server of the config, then runs it. Without -c, the\nbuilt-in demo config (config/tenbin.yaml): TENBIN_PORT (8080), TENBIN_ADMIN_PORT (9090) and\nTENBIN_DEMO_PORT_1..3 (9101-9103) move its ports. Takes the options of run.\n`,
    options: RUN_OPTIONS,
    positionals: [0, 0],
  },
  check: {
    usage: `Usage: tenbin check [--json] [-c FILE]... FILE...\n\nValidates each config (- reads standard input) and prints every error as\nfile:line:column key.path: what; fix. Exit 0 when all are valid, 1 otherwise.\n\n  -c, --config FILE   a config to check (repeatable; same as naming it)\n  --json              one JSON object on standard output: {"ok", "files": [{"file", "ok", "errors", "warnings"}]}\n  -h, --help          this text\n`,
    options: { config: { type: "string", short: "c", multiple: true }, json: { type: "boolean" } },
    positionals: [0, Number.MAX_SAFE_INTEGER],
  },
  route: {
    usage: `Usage: tenbin route -c FILE [options] METHOD URL\n\nShows the listener, route, pool and the server the pool would pick next for a request; sends\nnothing. Exit 1 when no listener or no route takes it, or an --expect flag does not hold.\n\n  -c, --config FILE       the config (default ./tenbin.yaml)\n  -H, --header 'N: v'     a request header (repeatable); Cookie: counts for the sticky cookie\n  --listener NAME         the listener to ask (default: the one on the URL's port)\n  --client-ip ADDR        the client's address, as access policies see it (default 127.0.0.1)\n  --expect-pool NAME      exit 1 unless the request goes to this pool\n  --expect-status CODE    exit 1 unless tenbin itself answers with CODE (404: no route, 503: no server,\n                          or a policy's: a redirect, a direct answer, 401, 403)\n  --json                  the answer as one JSON object\n  -h, --help              this text\n`,
    options: {
      config: { type: "string", short: "c" },
      header: { type: "string", short: "H", multiple: true },
      listener: { type: "string" },
      "expect-pool": { type: "string" },
      "expect-status": { type: "string" },
      "client-ip": { type: "string" },
      json: { type: "boolean" },
    },
    positionals: [2, 2],
  },
  probe: {
    usage: `Usage: tenbin probe -c FILE [--all] [--wait 30s] [--json]\n\nProbes every server once, as the running balancer would, and prints a table. Exit 0 when every\npool has a healthy server (--all: every server is healthy), 1 otherwise.\n\n  -c, --config FILE   the config (default ./tenbin.yaml)\n  --all               require every server healthy\n  --wait DURATION     probe again every 500ms until healthy or the time is up (a line per round on stderr)\n  --json              the result as one JSON object\n  -h, --help          this text\n`,
    options: { config: { type: "string", short: "c" }, all: { type: "boolean" }, wait: { type: "string" }, json: { type: "boolean" } },
    positionals: [0, 0],
  },
  "hash-password": {
    usage: `Usage: tenbin hash-password [--algorithm bcrypt|argon2id] < password\n\nHashes the password read from standard input (never from the command line) for basic_auth.\n\n  --algorithm NAME    bcrypt (default) or argon2id\n  -h, --help          this text\n`,
    options: { algorithm: { type: "string" } },
    // A password given here would land in the shell history: main.ts refuses it with the reason.
    positionals: [0, Number.MAX_SAFE_INTEGER],
  },
  // These two parse their own flags (cli/ready.ts, cli/ha.ts); main.ts hands them the arguments.
  ready: {
    usage: `Usage: tenbin ready [-c FILE | --admin HOST:PORT] [--pools] [--timeout 1s]\n\nAsks a running tenbin's admin /healthz whether it is ready. Exit 0 ready, 1 not ready or no\nanswer, 2 usage error. --pools also needs a usable server in every pool.\n`,
    options: {},
    positionals: [0, Number.MAX_SAFE_INTEGER],
  },
  ha: {
    usage: `Usage: tenbin ha keepalived|bird|announce|track [options]\n\nSetup help for a pair (docs/ha.md); \`tenbin ha help\` lists each subcommand's options.\n`,
    options: {},
    positionals: [0, Number.MAX_SAFE_INTEGER],
  },
  schema: { usage: "Usage: tenbin schema\n\nPrints the JSON Schema of the config (for editors).\n", options: {}, positionals: [0, 0] },
  version: { usage: "Usage: tenbin version\n\nPrints the version and the runtime.\n", options: {}, positionals: [0, 0] },
  worker: { usage: "Not for people: `tenbin run` starts these for `workers: N`.\n", options: { config: { type: "string", short: "c" }, id: { type: "string" } }, positionals: [0, 0] },
} satisfies Record<string, CommandSpec>;

/** A command `tenbin` knows. */
export type CommandName = keyof typeof COMMANDS;
