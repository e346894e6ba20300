/**
 * nginx as an independent PROXY protocol reader (installed by .ci/run): an HTTP server whose
 * `listen ... proxy_protocol` socket answers with the client address the header announced.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "./l4-backends.ts";

const SEARCH = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx", "/usr/local/bin/nginx"];

/** The nginx binary, if installed. */
export function findNginx(): string | undefined {
  return Bun.which("nginx") ?? SEARCH.find((p) => Bun.file(p).size > 0);
}

/** A running nginx that answers `addr=$proxy_protocol_addr port=$proxy_protocol_port`. */
export interface ProxyProtocolNginx {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts nginx in the foreground on a port that was free a moment ago; waits until it accepts. */
export async function startProxyProtocolNginx(binary: string): Promise<ProxyProtocolNginx> {
  const dir = mkdtempSync(join(tmpdir(), "tenbin-nginx-"));
  const port = freeTcpPort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(conf, `
worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} proxy_protocol;
    location / { return 200 "addr=$proxy_protocol_addr port=$proxy_protocol_port"; }
  }
}
`);
  const proc = Bun.spawn([binary, "-p", dir, "-e", join(dir, "error.log"), "-c", conf], { stdout: "ignore", stderr: "ignore" });
  const deadline = performance.now() + 5000;
  for (;;) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then((s) => (s.end(), true), () => false);
    if (ok) break;
    if (proc.exitCode !== null || performance.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`nginx did not start on port ${port}: ${await Bun.file(join(dir, "error.log")).text().catch(() => "")}`);
    }
    await Bun.sleep(20);
  }
  return {
    port,
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
