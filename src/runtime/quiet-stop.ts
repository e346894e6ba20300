/**
 * A graceful stop for the runtimes' HTTP servers (Bun.serve, Deno.serve) that does not lose a
 * request on its way over a keep-alive connection. Both close idle keep-alive connections at once
 * when they stop (checked on Bun 1.4.5 and Deno 2.9), also one whose client is sending its next
 * request right then. So until the server has been quiet for `STOP_QUIET_MS`, the stop waits and
 * every answer says `connection: close` (both runtimes then close the connection after it).
 */
import { STOP_QUIET_MS } from "./types.ts";

/** One server's side of it: `answer` wraps each answer of the handler, `settle` runs before the runtime's stop. */
export class QuietStop {
  #lastActive = -Infinity;
  #closing = false;

  /** The handler's answer, marked to close its connection once the stop began (read when it is ready). */
  answer<T>(answer: T | Promise<T>): T | Promise<T> {
    this.#lastActive = performance.now();
    return answer instanceof Promise ? answer.then(this.#answered) : this.#answered(answer);
  }

  /** Without `force`: resolves once the server has been quiet for `STOP_QUIET_MS`, answers saying close meanwhile. */
  async settle(force: boolean): Promise<void> {
    const quiet = performance.now() - this.#lastActive;
    const wasClosing = this.#closing;
    this.#closing = true;
    if (force || wasClosing || quiet >= STOP_QUIET_MS) return;
    await new Promise((resolve) => setTimeout(resolve, STOP_QUIET_MS - quiet));
  }

  readonly #answered = <T>(answer: T): T => {
    this.#lastActive = performance.now();
    return this.#closing ? closingAnswer(answer) : answer;
  };
}

/** `answer` marked to close its connection; an upgrade (no answer, or a 101) is left alone. */
function closingAnswer<T>(answer: T): T {
  if (!(answer instanceof Response) || answer.status === 101) return answer;
  try {
    answer.headers.set("connection", "close");
    return answer;
  } catch {
    // Immutable headers (a fetch answer on Deno): a copy that can say it.
    const headers = new Headers(answer.headers);
    headers.set("connection", "close");
    return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers }) as T;
  }
}
