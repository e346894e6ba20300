/**
 * Answers tenbin makes itself: 404 no route, 413 body too large, 502/503/504 when the servers fail.
 * Small plain-text bodies that name no internals, each with the request id so a user can find the log
 * line.
 */

const REASONS: Record<number, string> = {
  400: "Bad request",
  404: "No route for this request",
  405: "Method not allowed",
  413: "Request body too large",
  499: "Client closed request",
  501: "Not implemented",
  502: "Bad gateway: the server could not be reached or answered badly",
  503: "Service unavailable: no server can take this request now",
  504: "Gateway timeout: the server did not answer in time",
};

/** A plain-text error response carrying `X-Request-Id`. */
export function errorResponse(status: number, requestId: string): Response {
  const text = REASONS[status] ?? "Error";
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8", "x-request-id": requestId, "cache-control": "no-store" };
  // The rest of a refused body would only be read to be thrown away: close instead.
  if (status === 413) headers.connection = "close";
  const body = `${text}\nrequest id: ${requestId}\n`;
  // Declared, so a server that writes answers itself frames it with a length (the text is ASCII).
  headers["content-length"] = String(body.length);
  return new Response(body, { status, headers });
}

/** A pool's configured sorry page (static body). */
export interface SorryPage {
  status: number;
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
}

/** The sorry page as a response; `Retry-After` tells clients and crawlers it is temporary. */
export function sorryResponse(page: SorryPage, requestId: string): Response {
  return new Response(page.body, {
    status: page.status,
    headers: {
      "content-type": page.contentType,
      "x-request-id": requestId,
      "cache-control": "no-store",
      "retry-after": "5",
      "content-length": String(page.body.byteLength),
    },
  });
}
