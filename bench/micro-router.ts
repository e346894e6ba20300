/**
 * Micro-benchmarks of route matching (src/router). Run: `node_modules/.bin/bun bench/micro-router.ts`.
 *
 * Each table has N routes, route i taking `svc<i>.example.com` under `/api/`. "hit last host" asks
 * for the last route's host (without and with a port), "miss" for a host no route names; the host
 * buckets make each cost the same at 10 and 1,000 routes. The request reuses one host string, whose
 * hash the engine caches, so a Map lookup here is cheaper than for a fresh header string (a port
 * forces a fresh substring, which shows that cost). "path-only, hit last" gives N host-less routes that differ only by
 * path prefix, so every route is tested in order: the linear cost the buckets avoid.
 */
import { Bench } from "tinybench";
import { routeSchema } from "../src/config/schema.ts";
import { compileRoutes, type RequestFacts, type RouteTable } from "../src/router/route-table.ts";

// Matches per task call: one match is a few tens of ns, below what a single timing resolves.
const BATCH = 100;

let sink = 0;

function hostRoutes(count: number): RouteTable {
  const routes = [];
  for (let i = 0; i < count; i++) routes.push(routeSchema.parse({ match: { host: `svc${i}.example.com`, path: "/api/" }, pool: `pool${i}` }));
  return compileRoutes(routes);
}

function pathRoutes(count: number): RouteTable {
  const routes = [];
  for (let i = 0; i < count; i++) routes.push(routeSchema.parse({ match: { path: `/svc${i}/` }, pool: `pool${i}` }));
  return compileRoutes(routes);
}

function facts(host: string, path: string): RequestFacts {
  return { method: "GET", host, path, query: "", headers: new Headers({ host, "user-agent": "bench" }) };
}

function batch(table: RouteTable, req: RequestFacts, expectMatch: boolean): () => void {
  if ((table.match(req) !== undefined) !== expectMatch) throw new Error(`bench case does not ${expectMatch ? "match" : "miss"} as intended`);
  return () => {
    for (let i = 0; i < BATCH; i++) sink += table.match(req)?.index ?? -1;
  };
}

/** Runs the router benchmarks and returns a markdown table of ns per match. */
export async function runRouterBench(): Promise<string> {
  const bench = new Bench({ time: 300, warmupTime: 100 });
  for (const count of [10, 1000]) {
    const byHost = hostRoutes(count);
    const byPath = pathRoutes(count);
    bench.add(`${count} | hit last host`, batch(byHost, facts(`svc${count - 1}.example.com`, "/api/users"), true));
    bench.add(`${count} | hit last host:port`, batch(byHost, facts(`svc${count - 1}.example.com:8080`, "/api/users"), true));
    bench.add(`${count} | miss`, batch(byHost, facts("unknown.example.org", "/api/users"), false));
    bench.add(`${count} | path-only, hit last`, batch(byPath, facts("svc.example.com", `/svc${count - 1}/x`), true));
  }
  await bench.run();
  const lines = ["| routes | case | ns/op | ±% |", "| ---: | --- | ---: | ---: |"];
  for (const task of bench.tasks) {
    const result = task.result;
    const [routes, label] = task.name.split(" | ");
    if (result.state !== "completed") {
      lines.push(`| ${routes} | ${label} | ${result.state} | |`);
      continue;
    }
    const nsPerOp = (result.latency.mean * 1e6) / BATCH;
    lines.push(`| ${routes} | ${label} | ${nsPerOp.toFixed(1)} | ${result.latency.rme.toFixed(1)} |`);
  }
  if (sink === 0.5) lines.push(""); // keeps `sink` observable so the matches cannot be optimised away
  return lines.join("\n");
}

if (import.meta.main) {
  console.log(await runRouterBench());
}
