/**
 * `tenbin ha bird ...`: a BIRD 2 config for one node of an active/active pair. Every node holds the
 * service address on a loopback or dummy interface and announces it (a /32 or /128) over BGP to its
 * router(s), which install an ECMP route over all nodes that announce it. The announcement is one
 * static protocol (`tenbin_service` by default) that `tenbin ha announce` enables while tenbin is
 * ready and disables when it is not, through birdc: withdrawn, the router stops sending this node
 * new connections at once. A node that dies whole is dropped when its BGP session ends: at once
 * when the peer sees the TCP session close, within the hold time (or BFD's detection time) when
 * the node falls silent.
 */

/** The options of one node's bird.conf. */
export interface BirdOptions {
  /** Service addresses with their prefix, e.g. 192.0.2.80/32. */
  services: string[];
  routerId: string;
  localAs: number;
  /** BGP neighbors (the routers) and their AS. */
  neighbors: { address: string; as: number }[];
  holdSec: number;
  keepaliveSec: number;
  bfd: boolean;
  protocol: string;
}

/** bird.conf text for `opts`. */
export function renderBird(opts: BirdOptions): string {
  const v4 = opts.services.filter((s) => !s.includes(":"));
  const v6 = opts.services.filter((s) => s.includes(":"));
  const lines = [
    `# bird.conf for one node of a tenbin active/active pair (tenbin ha bird).`,
    `# The service address must also be on a local interface (e.g. ip addr add ${opts.services[0]} dev lo),`,
    `# and \`tenbin ha announce --protocol ${opts.protocol}\` must run beside tenbin: it enables the`,
    `# announcement while tenbin is ready and disables it when it is not.`,
    `router id ${opts.routerId};`,
    ``,
    `protocol device { scan time 10; }`,
    ``,
    ...staticProtocol(opts.protocol, "ipv4", v4),
    ...staticProtocol(`${opts.protocol}6`, "ipv6", v6),
    ...(opts.bfd ? [`protocol bfd {`, `  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };`, `}`, ``] : []),
  ];
  opts.neighbors.forEach((n, i) => {
    const v6Neighbor = n.address.includes(":");
    const channel = v6Neighbor ? "ipv6" : "ipv4";
    const own = v6Neighbor ? `${opts.protocol}6` : opts.protocol;
    lines.push(
      `protocol bgp uplink${i + 1} {`,
      `  local as ${opts.localAs};`,
      `  neighbor ${n.address} as ${n.as};`,
      `  hold time ${opts.holdSec};`,
      `  keepalive time ${opts.keepaliveSec};`,
      `  connect retry time 1;`,
      `  error wait time 1, 5;`,
      ...(opts.bfd ? [`  bfd on;`] : []),
      `  ${channel} {`,
      `    import none;`,
      `    export where proto = "${own}";`,
      `  };`,
      `}`,
      ``,
    );
  });
  return lines.join("\n");
}

function staticProtocol(name: string, channel: string, routes: string[]): string[] {
  if (routes.length === 0) return [];
  return [
    `# Announced while tenbin is ready: off at start, tenbin ha announce enables and disables it.`,
    `protocol static ${name} {`,
    `  disabled;`,
    `  ${channel};`,
    ...routes.map((r) => `  route ${r} blackhole;`),
    `}`,
    ``,
  ];
}
