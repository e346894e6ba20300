/**
 * `first`: the first available server in file order (HAProxy's `balance first`). Traffic fills
 * server one up to its `max_conns`, then spills to the next — useful to keep few servers busy, or
 * for an active/passive pair without marking the second one `backup`.
 */
import type { Balancer, BalancerFactory } from "./balancer.ts";

/** Creates a balancer that always takes the first available server in array (file) order. */
export const firstAvailable: BalancerFactory = (options): Balancer => {
  const { clock } = options;
  return {
    pick(servers, ctx) {
      const now = clock.now();
      const exclude = ctx.exclude !== undefined && ctx.exclude.size > 0 ? ctx.exclude : undefined;
      for (let i = 0; i < servers.length; i++) {
        const server = servers[i]!;
        if (server.isAvailable(now) && (exclude === undefined || !exclude.has(server))) return server;
      }
      return undefined;
    },
  };
};
