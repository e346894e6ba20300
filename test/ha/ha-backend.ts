/**
 * A backend for the HA tests, run inside a namespace: `bun ha-backend.ts HOST PORT:NAME...`. Every
 * path answers `NAME FROM` (FROM: the address of the tenbin that connected, so the client knows
 * which node answered); /healthz answers ok. Prints "listening" once every port is bound.
 */
const [host = "0.0.0.0", ...specs] = process.argv.slice(2);
for (const spec of specs) {
  const [port, name] = spec.split(":");
  Bun.serve({
    hostname: host,
    port: Number(port),
    fetch(req, server) {
      if (new URL(req.url).pathname === "/healthz") return new Response("ok");
      return new Response(`${name} ${server.requestIP(req)?.address ?? "?"}`);
    },
  });
}
console.log("listening");
export {};
