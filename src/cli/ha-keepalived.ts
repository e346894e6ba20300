/**
 * `tenbin ha keepalived ...`: a keepalived.conf for one node of an active/standby pair. One VRRP
 * instance (VRRPv3, sub-second adverts) moves the virtual address; a `track_script` runs
 * `tenbin ready` so a node whose tenbin is dead, frozen or stopping gives the address up (FAULT
 * state: it advertises priority 0 and the peer takes over at once); `notify` logs each state change.
 * Both nodes get the same file but for `--priority` (the higher one holds the address).
 */

/** The options of one node's keepalived.conf. */
export interface KeepalivedOptions {
  /** Virtual addresses with their prefix, e.g. 192.0.2.10/24. */
  vips: string[];
  interface: string;
  priority: number;
  routerId: number;
  /** VRRP advert interval in ms (keepalived takes seconds with two decimals). */
  advertMs: number;
  /** Unicast peers; multicast (224.0.0.18) without any. */
  peers: string[];
  /** Source address of unicast adverts (keepalived picks the interface's first address without it). */
  source?: string | undefined;
  /** The command that answers readiness (`tenbin ready --admin ...`). */
  readyCommand: string;
  /** Command the state changes go to; keepalived appends: INSTANCE <name> <state> <priority>. */
  notify: string;
  name: string;
  preempt: boolean;
  /** A track_file `tenbin ha track` keeps at 0 (ready) or 1; the vrrp_script stays as the safety net. */
  trackFile?: string | undefined;
}

/** keepalived.conf text for `opts`. */
export function renderKeepalived(opts: KeepalivedOptions): string {
  const advert = (opts.advertMs / 1000).toFixed(2).replace(/0$/, "");
  const downMs = 3 * opts.advertMs + Math.round(((256 - opts.priority) / 256) * opts.advertMs);
  const lines = [
    `# keepalived.conf for one node of a tenbin active/standby pair (tenbin ha keepalived).`,
    `# The peer runs the same file with a lower --priority. The node whose tenbin is not ready`,
    `# (\`${opts.readyCommand}\` exits 1) goes to FAULT and gives the address up.`,
    `# Master down after ${downMs} ms of silence (3 adverts of ${opts.advertMs} ms plus skew).`,
    `global_defs {`,
    `  enable_script_security`,
    `  script_user root`,
    `  vrrp_version 3`,
    `}`,
    ``,
    `vrrp_script ${opts.name}_ready {`,
    `  script "${opts.readyCommand}"`,
    `  # keepalived runs scripts at most once a second; tenbin ready itself gives up after its --timeout.`,
    `  interval 1`,
    `  timeout 1`,
    `  fall 1`,
    `  rise 2`,
    `}`,
    ``,
    ...(opts.trackFile
      ? [
        `# Written by \`tenbin ha track --file ${opts.trackFile}\` within ~100 ms of a change; 1 (not ready)`,
        `# until the watcher first says otherwise, so a node without its watcher stays out.`,
        `track_file ${opts.name}_fast {`,
        `  file "${opts.trackFile}"`,
        `  weight 0`,
        `  init_file 1 overwrite`,
        `}`,
        ``,
      ]
      : []),
    `vrrp_instance ${opts.name} {`,
    `  state BACKUP`,
    `  interface ${opts.interface}`,
    `  virtual_router_id ${opts.routerId}`,
    `  priority ${opts.priority}`,
    `  version 3`,
    `  advert_int ${advert}`,
    ...(opts.preempt ? [] : [`  nopreempt`]),
    ...(opts.source ? [`  unicast_src_ip ${opts.source}`] : []),
    ...(opts.peers.length > 0 ? [`  unicast_peer {`, ...opts.peers.map((p) => `    ${p}`), `  }`] : []),
    `  virtual_ipaddress {`,
    ...opts.vips.map((v) => `    ${v} dev ${opts.interface}`),
    `  }`,
    `  track_script {`,
    `    ${opts.name}_ready`,
    `  }`,
    ...(opts.trackFile ? [`  track_file {`, `    ${opts.name}_fast`, `  }`] : []),
    `  notify "${opts.notify}"`,
    `}`,
  ];
  return lines.join("\n") + "\n";
}
