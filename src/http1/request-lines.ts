/** The head writer of a request (the client side's; `response-writer.ts` writes the server side's). */
import type { HeaderMap } from "../http/message.ts";
import { headerLines } from "./header-list.ts";

/**
 * The request line, Host (the header set's, else `defaultHost`) and every other field not in
 * `skip`, each line ended; the caller adds its own lines and the blank one.
 */
export function requestLines(method: string, path: string, headers: HeaderMap, defaultHost: string, skip: ReadonlySet<string>): string {
  return requestStart(method, path, headers, defaultHost) + headerLines(headers, skip);
}

/** The request line and Host, each line ended: what `requestLines` puts before the other fields. */
export function requestStart(method: string, path: string, headers: HeaderMap, defaultHost: string): string {
  return `${method} ${path} HTTP/1.1\r\nhost: ${headers.get("host") ?? defaultHost}\r\n`;
}
