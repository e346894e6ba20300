/** Schema keys about limits under pressure (issue 21), kept apart from schema.ts's shared lines. */
import { z } from "zod";

/** `listeners[].max_conns` of an HTTP listener: a number, or `auto` (derived from the fd limit). */
export const httpMaxConns = z.union([z.literal("auto"), z.number().int().min(1)]).default("auto").describe(
  "Client connections at once (tenbin's own engine); beyond it a new connection is answered 503 and closed at once. " +
    "`auto`: every `auto` listener shares one budget of (fd limit − fds kept for server, check and log sockets) / 2, as HAProxy derives maxconn",
);
