/**
 * A backend for the HA tests, run inside a namespace: `bun ha-backend.ts HOST PORT:NAME...`. Every
 * path answers `NAME FROM` (FROM: the address of the tenbin that connected, so the client knows
 * which node answered); /healthz answers ok; /slow answers after 1.5 s; /ws is a WebSocket that
 * greets with `NAME FROM`. Prints "listening" once every port is bound.
 */
const [host = "0.0.0.0", ...specs] = process.argv.slice(2);
for (const spec of specs) {
  const [port, name] = spec.split(":");
  Bun.serve<{ from: string }>({
    hostname: host,
    port: Number(port),
    websocket: {
      open(ws) {
        ws.send(`${name} ${ws.data.from}`);
      },
      message() {},
    },
    fetch(req, server) {
      const path = new URL(req.url).pathname;
      if (path === "/ws" && server.upgrade(req, { data: { from: server.requestIP(req)?.address ?? "?" } })) return undefined;
      if (path === "/healthz") return new Response("ok");
      // A request still in flight when the address moves (the test's planned switch).
      if (path === "/slow") return Bun.sleep(1500).then(() => new Response(`${name} slow`));
      return new Response(`${name} ${server.requestIP(req)?.address ?? "?"}`);
    },
  });
}
console.log("listening");
export {};
