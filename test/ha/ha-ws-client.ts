/**
 * A WebSocket client for the HA tests, run in the client namespace: `bun ha-ws-client.ts URL COOKIE
 * DURATION_MS`. Opens a WebSocket with the sticky cookie and prints one JSON line per event:
 * `{ "event": "open", "t", "greeting": "NAME FROM" }` and `{ "event": "close", "t", "code" }`; after a
 * close it reconnects every 50 ms (each attempt bounded to 500 ms) until DURATION_MS is up.
 */
const [url = "", cookie = "", durationText = "3000"] = process.argv.slice(2);
const end = Date.now() + Number(durationText);
// A connection still open when the time is up must not keep the process alive.
setTimeout(() => process.exit(0), Number(durationText)).unref?.();
const print = (line: Record<string, unknown>) => console.log(JSON.stringify({ t: Date.now(), ...line }));

/** One connection: resolves when it closes (or fails to open). */
function connect(): Promise<void> {
  return new Promise((resolve) => {
    // Bun's WebSocket takes request headers: the cookie picks the backend, as a browser's would.
    const ws = new WebSocket(url, { headers: { cookie } } as unknown as string[]);
    let opened = false;
    const timer = setTimeout(() => opened || ws.close(), 500);
    ws.onmessage = (m) => {
      opened = true;
      print({ event: "open", greeting: String(m.data) });
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      if (opened) print({ event: "close", code: e.code });
      resolve();
    };
    ws.onerror = () => {};
  });
}

for (let i = 0; Date.now() < end && i < 1000; i++) {
  await connect();
  await Bun.sleep(50);
}
process.exit(0);
export {};
