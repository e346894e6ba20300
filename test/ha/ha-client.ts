/**
 * The client of the HA tests, run inside the client namespace:
 * `bun ha-client.ts URL DURATION_MS INTERVAL_MS TIMEOUT_MS [COOKIE]`. It sends one request every
 * INTERVAL_MS on a new connection each time (so every request finds where the address is now),
 * retries a failed one once at once, and prints one JSON line per request:
 * `{ "t": <ms since epoch at the end>, "ok": bool, "server": "a", "node": "10.77.0.11", "tries": 1|2, "cookie"? }`.
 * Without COOKIE the first answer's sticky cookie is used for the rest; COOKIE `-` sends none ever.
 */
const [url = "", durationText = "3000", intervalText = "20", timeoutText = "250", given] = process.argv.slice(2);
const end = Date.now() + Number(durationText);
const noCookies = given === "-";
let cookie = noCookies ? undefined : given;
for (let i = 0; Date.now() < end && i < 100_000; i++) {
  const began = Date.now();
  let line: Record<string, unknown> = { ok: false };
  for (let tries = 1; tries <= 2; tries++) {
    try {
      const res = await fetch(url, {
        keepalive: false,
        headers: { connection: "close", ...(cookie ? { cookie } : {}) },
        signal: AbortSignal.timeout(Number(timeoutText)),
      });
      const body = await res.text();
      const setCookie = res.headers.get("set-cookie");
      if (!cookie && !noCookies && setCookie) cookie = setCookie.split(";")[0];
      const [server, node] = body.split(" ");
      line = { ok: res.status === 200, status: res.status, server, node, tries };
      if (res.status === 200) break;
    } catch (error) {
      line = { ok: false, error: (error as Error).name, tries };
    }
  }
  console.log(JSON.stringify({ t: Date.now(), began, ...line, ...(i === 0 && cookie ? { cookie } : {}) }));
  await Bun.sleep(Math.max(0, Number(intervalText) - (Date.now() - began)));
}
export {};
