/**
 * The demo's config, embedded so that `tenbin demo` works from the binary alone in any directory.
 * The same text is config/tenbin.yaml (test/cli/demo-config.test.ts fails when the two differ).
 */

/** Name the embedded demo config is reported under in messages. */
export const DEMO_CONFIG_NAME = "config/tenbin.yaml (built in)";

/** Text of config/tenbin.yaml. */
export const DEMO_CONFIG_YAML = `# The demo that \`npm start\` runs: \`tenbin demo\` starts a small backend on each loopback server below,
# then balances across them. Try: curl -s http://127.0.0.1:8080/ (repeat it: the backend rotates).
admin: { listen: "127.0.0.1:\${TENBIN_ADMIN_PORT:-9090}" }   # the dashboard
listeners:
  - name: web
    listen: 127.0.0.1:\${TENBIN_PORT:-8080}
    routes:
      - name: api
        match: { path: /api/ }
        pool: api
      - name: default
        pool: web

pools:
  web:
    balance: round_robin
    health: { http: { path: /healthz }, interval: 2s, timeout: 1s, rise: 2, fall: 3 }
    servers:
      - { name: web-1, url: "http://127.0.0.1:\${TENBIN_DEMO_PORT_1:-9101}" }
      - { name: web-2, url: "http://127.0.0.1:\${TENBIN_DEMO_PORT_2:-9102}" }
      - { name: web-3, url: "http://127.0.0.1:\${TENBIN_DEMO_PORT_3:-9103}" }
  api:
    balance: least_time
    sticky: { cookie: { name: tenbin_api, max_age: 1h, key: "\${TENBIN_COOKIE_KEY:-demo-only-key}" } }
    retries: 2
    servers:
      - { name: api-1, url: "http://127.0.0.1:\${TENBIN_DEMO_PORT_1:-9101}", weight: 2 }
      - { name: api-2, url: "http://127.0.0.1:\${TENBIN_DEMO_PORT_2:-9102}" }
`;
