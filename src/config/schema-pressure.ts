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
  "Bun reads up to 512 KB at a time, so a size bounds what a slow client makes tenbin hold: with 16KiB, 200 clients reading a 10 MB answer at 1 KB/s cost about 20 % of idle memory (bench/pressure-slow-readers.ts), against ~400 KB each with `auto` (kernel autotuning). " +
  "`auto` (the default) because the buffer can only be set once the connection is up, after the window scale was agreed: at 16KiB, 100 KB answers from a server on the same host went at half the speed (bench/ab.ts --path /100k) and TLS passthrough of 100 KB stalled. Bun only (Deno ignores it)";
