/**
 * A discrete-event simulation of requests against a balancer on a FakeClock: requests arrive at a
 * given mean interval, each server answers after its latency, in-flight counts and EWMAs evolve as
 * they would in the proxy. No sleeping: the clock jumps from event to event.
 */
import type { Balancer } from "../../../src/pool/balance/balancer.ts";
import type { ServerState } from "../../../src/pool/server-state.ts";
import type { FakeClock, Random } from "../../../src/util/clock.ts";

export interface Simulation {
  /** Requests to send (bounds the loop). */
  picks: number;
  /** Mean time between arrivals; with `random`, exponentially distributed (Poisson arrivals). */
  interArrivalMs: number;
  /** Mean response time of a server; with `random`, jittered uniformly by ±50%. */
  latencyMs: (server: ServerState) => number;
  /** EWMA decay passed to `observeLatency`, as the forward path passes the pool's `ewma_decay`. */
  decayMs: number;
  random?: Random;
}

interface Completion {
  at: number;
  server: ServerState;
  latency: number;
}

/** Runs the simulation; returns picks per server position and the peak total in flight. */
export function simulate(
  balancer: Balancer,
  servers: readonly ServerState[],
  clock: FakeClock,
  sim: Simulation,
): { counts: number[]; peakInFlight: number } {
  const counts = new Array<number>(servers.length).fill(0);
  const pending: Completion[] = []; // sorted by `at`, soonest last
  let peakInFlight = 0;
  const ctx = { clientIp: "192.0.2.1" };
  for (let i = 0; i < sim.picks; i++) {
    const gap = sim.random ? -Math.log(1 - sim.random()) * sim.interArrivalMs : sim.interArrivalMs;
    const arrival = clock.now() + gap;
    while (pending.length > 0 && pending[pending.length - 1]!.at <= arrival) {
      const done = pending.pop()!;
      clock.advance(done.at - clock.now());
      done.server.inFlight--;
      done.server.observeLatency(done.latency, sim.decayMs);
    }
    clock.advance(arrival - clock.now());
    const server = balancer.pick(servers, ctx);
    if (server === undefined) throw new Error(`No server at pick "${i}"`);
    counts[servers.indexOf(server)]!++;
    server.inFlight++;
    peakInFlight = Math.max(peakInFlight, pending.length + 1);
    const mean = sim.latencyMs(server);
    const latency = sim.random ? mean * (0.5 + sim.random()) : mean;
    const completion = { at: arrival + latency, server, latency };
    let k = pending.length;
    while (k > 0 && pending[k - 1]!.at < completion.at) k--;
    pending.splice(k, 0, completion);
  }
  for (const done of pending) done.server.inFlight--;
  return { counts, peakInFlight };
}
