/** The dashboard's stylesheet (embedded: the binary serves the page with no files beside it). */
export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #6b7385; --line: #e4e7ec;
  --up: #12a150; --down: #d92d20; --warn: #dc8a06; --off: #98a2b3; --accent: #3559e0;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; align-items: baseline; gap: 16px; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
header h1 span { color: var(--muted); font-weight: 400; font-size: 13px; margin-left: 6px; }
.meta { color: var(--muted); font-size: 13px; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.pill.ok { background: #e7f6ec; color: var(--up); }
.pill.bad { background: #fdecea; color: var(--down); }
#live { margin-left: auto; font-size: 12px; color: var(--muted); }
#live::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: var(--up); margin-right: 6px; }
#live.stale::before { background: var(--down); }
main { padding: 20px 24px; display: grid; gap: 18px; max-width: 1280px; }
#pools { display: grid; gap: 18px; }
.listeners { display: flex; gap: 10px; flex-wrap: wrap; }
.listener { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; font-size: 13px; }
.listener b { margin-right: 8px; }
section.pool { background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
section.pool > h2 { display: flex; gap: 14px; align-items: baseline; margin: 0; padding: 12px 16px; font-size: 15px; border-bottom: 1px solid var(--line); }
section.pool > h2 .meta { font-weight: 400; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
th { text-align: left; font-weight: 500; color: var(--muted); font-size: 12px; padding: 8px 12px; background: #fafbfc; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { padding-left: 16px; } th:last-child, td:last-child { padding-right: 16px; }
td { padding: 8px 12px; border-bottom: 1px solid var(--line); font-variant-numeric: tabular-nums; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
td:last-child { text-align: right; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; }
.state { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; text-transform: uppercase; font-size: 11px; letter-spacing: .04em; }
.state::before { content: ""; width: 9px; height: 9px; border-radius: 50%; background: currentColor; }
.state.up { color: var(--up); }
.state.down { color: var(--down); }
.state.ejected { color: var(--down); }
.state.draining { color: var(--warn); }
.state.disabled { color: var(--off); }
tr.down td, tr.ejected td { background: #fef3f2; }
.name { font-weight: 600; }
.url { color: var(--muted); font-size: 12px; overflow: hidden; text-overflow: ellipsis; }
.err { color: var(--down); font-weight: 600; }
svg.spark { display: block; }
svg.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
button { font: inherit; font-size: 12px; padding: 3px 10px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); color: var(--accent); }
button + button { margin-left: 4px; }
#error { color: var(--down); }
.reason { color: var(--down); font-size: 12px; overflow: hidden; text-overflow: ellipsis; }
`;
