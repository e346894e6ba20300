/**
 * The two small things a listener does for HTTPS besides terminating it: a plain listener's
 * redirect of every request to the https URL, and the Strict-Transport-Security header of a TLS
 * listener (RFC 6797), computed once per config rather than per request.
 */
import type { ListenerConfig } from "../config/schema.ts";
import type { ProxyRequest, ProxyResponse } from "../runtime/types.ts";

/** The redirect a plain listener answers with, or undefined when it forwards requests. */
export interface HttpsRedirect {
  port: number;
  status: number;
}

/** The listener's `redirect_https` with its defaults filled in. */
export function httpsRedirectOf(listener: ListenerConfig): HttpsRedirect | undefined {
  const r = listener.redirect_https;
  if (!r) return undefined;
  return r === true ? { port: 443, status: 308 } : { port: r.port, status: r.status };
}

/**
 * The redirect for `req`: same host (without its port), same path and query, scheme https. 308
 * keeps the method and body, so a POST is not turned into a GET.
 */
export function httpsRedirectResponse(req: ProxyRequest, pathAndQuery: string, redirect: HttpsRedirect): Response {
  const host = hostWithoutPort(req.headers.get("host") ?? new URL(req.url).host);
  const port = redirect.port === 443 ? "" : `:${redirect.port}`;
  return new Response(null, {
    status: redirect.status,
    headers: { location: `https://${host}${port}${pathAndQuery}`, "cache-control": "no-store", "content-length": "0" },
  });
}

function hostWithoutPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon < 0 ? host : host.slice(0, colon);
}

/** The Strict-Transport-Security value of a listener, or undefined when it sends none. */
export function hstsHeaderOf(listener: ListenerConfig): string | undefined {
  const h = listener.hsts;
  if (!h || !listener.tls) return undefined;
  const { max_age, include_subdomains, preload } = h === true ? { max_age: 365 * 86_400_000, include_subdomains: false, preload: false } : h;
  let value = `max-age=${Math.floor(max_age / 1000)}`;
  if (include_subdomains) value += "; includeSubDomains";
  if (preload) value += "; preload";
  return value;
}

/** Adds the HSTS header to a response (the proxy's responses have mutable headers). */
export function withHsts(response: ProxyResponse | Promise<ProxyResponse>, value: string): ProxyResponse | Promise<ProxyResponse> {
  if (response instanceof Promise) return response.then((r) => setHeader(r, value));
  return setHeader(response, value);
}

function setHeader(response: ProxyResponse, value: string): ProxyResponse {
  // A WebSocket upgrade's 101 (Deno) cannot be copied, and the header means nothing on it.
  if (response.status < 200) return response;
  try {
    response.headers.set("strict-transport-security", value);
    return response;
  } catch {
    // Immutable headers (a Response.redirect or an upstream object): copy once. Only a Web
    // `Response` has them (a `LightResponse`'s are a plain list).
    const copy = new Response(response.body, response as Response);
    copy.headers.set("strict-transport-security", value);
    return copy;
  }
}
