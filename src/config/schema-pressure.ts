/** Schema keys about limits under pressure (issue 21), kept apart from schema.ts's shared lines. */
import { z } from "zod";

/** `listeners[].max_conns` of an HTTP listener: a number, or `auto` (derived from the fd limit). */
export const httpMaxConns = z.union([z.literal("auto"), z.number().int().min(1)]).default("auto").describe(
  "Client connections at once (tenbin's own engine); beyond it a new connection is answered 503 and closed at once. " +
    "`auto`: every `auto` listener shares one budget of (fd limit − fds kept for server, check and log sockets) / 2, as HAProxy derives maxconn",
);

/** The description of `server_receive_buffer` (the key itself is in schema.ts, which owns `size`). */
export const SERVER_RECEIVE_BUFFER_NOTE =
  "Kernel receive buffer (SO_RCVBUF) of tenbin's connections to servers (HTTP, WebSocket, TCP), as HAProxy's tune.rcvbuf.server. " +
  "Bun reads up to 512 KB at a time, and what a slow client makes tenbin hold is the read in hand when it falls behind. " +
  "`auto` (the default): the kernel's autotuning while an exchange is short; a connection that carries a long answer (more than 128 KB left, or no length), or a tunnel whose client falls behind, is set to 64KiB from then on (reads of ~60 KB, ~128 KB at most). " +
  "A size: set on every connection from the connect, and kept. Below 64KiB a server on the same host (64 KB loopback segments) can stall on zero-window probes: at 16KiB a 100 MB download crawled at ~0.2 MB/s. Bun only (Deno ignores it)";
