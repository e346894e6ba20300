/**
 * The dashboard: one self-contained HTML page (style and script inline, no CDN, no build step), a
 * string in the bundle so `bun build --compile` carries it and Deno runs it from source alike.
 */
import { DASHBOARD_SCRIPT } from "./dashboard-script.ts";
import { DASHBOARD_CSS } from "./dashboard-style.ts";

/** The page served at `GET /` of the admin listener. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tenbin</title>
<link rel="icon" href="data:,">
<style>${DASHBOARD_CSS}</style>
</head>
<body>
<header>
  <h1>tenbin<span id="version"></span></h1>
  <span class="meta" id="uptime"></span>
  <span class="pill ok" id="reload"></span>
  <span class="meta" id="error"></span>
  <span id="live">connecting</span>
</header>
<main>
  <div class="listeners" id="listeners"></div>
  <div class="listeners" id="policies"></div>
  <div class="listeners" id="certificates"></div>
  <div id="pools"></div>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
