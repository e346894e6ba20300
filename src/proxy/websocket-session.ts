/**
 * One proxied WebSocket once both ends are open: messages pass both ways in order, a slow reader
 * pauses the other side's reading (so TCP pushes back on the fast writer instead of memory filling
 * up), and a close on either side is passed on with its code and reason.
 */
import type { DownstreamEvents, DownstreamWebSocket, UpstreamEvents, UpstreamWebSocket, WebSocketData } from "../runtime/types.ts";

/** Bytes queued towards the backend above which the client's reading is paused. */
const UPSTREAM_HIGH_WATER = 1024 * 1024;
/** How often the backend's queue is looked at while the client is paused (the client API has no drain event). */
const UPSTREAM_DRAIN_POLL_MS = 5;
/** After one side closed, the other gets this long to answer its close before it is cut. */
const CLOSE_GRACE_MS = 5000;

/** Codes that must not appear in a close frame (RFC 6455 §7.4.1): the closure was not a frame. */
const NOT_SENDABLE = new Set([1005, 1006, 1015]);

/** Closes `to` the way `from` was closed: same code and reason, or abruptly for an abnormal closure. */
function passClose(to: { close(code?: number, reason?: string): void; terminate(): void }, code: number, reason: string): void {
  if (code === 1006 || code === 1015) to.terminate();
  else if (NOT_SENDABLE.has(code) || code < 1000 || code > 4999) to.close();
  else to.close(code, reason);
}

/** Wires one client WebSocket to one backend WebSocket. */
export class WebSocketSession {
  #client: DownstreamWebSocket | undefined;
  #upstream: UpstreamWebSocket | undefined;
  /** Backend messages that arrived before the client's side was open. */
  readonly #early: WebSocketData[] = [];
  #waitingForClientDrain = false;
  #poll: ReturnType<typeof setInterval> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #clientClosed = false;
  #upstreamClosed = false;
  #ended = false;
  readonly #onEnd: () => void;

  /** `onEnd` runs once, when both sides are closed (or cut). */
  constructor(onEnd: () => void) {
    this.#onEnd = onEnd;
  }

  /** Gives the session its backend socket (already open). */
  attachUpstream(upstream: UpstreamWebSocket): void {
    this.#upstream = upstream;
    // Hold the backend until the client's side is open, so nothing queues up in between.
    if (!this.#client) upstream.pause();
  }

  /** Events of the backend socket after it opened. */
  readonly upstreamEvents: Pick<UpstreamEvents, "message" | "close"> = {
    message: (data) => {
      const client = this.#client;
      if (!client) {
        this.#early.push(data);
        return;
      }
      this.#toClient(client, data);
    },
    close: (code, reason) => {
      this.#upstreamClosed = true;
      if (this.#client && !this.#clientClosed) {
        this.#stopPoll();
        this.#client.resume(); // a paused socket could not read the client's answer to the close
        passClose(this.#client, code, reason);
        this.#armCloseTimer();
      } else if (!this.#client) {
        this.#clientClosed = true; // the client side never opened; nothing to wait for
      }
      this.#maybeEnd();
    },
  };

  /** Events of the client socket. */
  readonly clientEvents: DownstreamEvents = {
    open: (client) => {
      this.#client = client;
      if (this.#upstreamClosed) {
        // The backend closed while the client's upgrade was on its way.
        client.close(1011, "backend closed");
        return;
      }
      for (const data of this.#early.splice(0)) this.#toClient(client, data);
      if (!this.#waitingForClientDrain) this.#upstream?.resume();
    },
    message: (data) => {
      const upstream = this.#upstream;
      if (!upstream || this.#upstreamClosed) return;
      upstream.send(data);
      if (this.#client?.canPause && upstream.bufferedAmount > UPSTREAM_HIGH_WATER && this.#poll === undefined) {
        this.#client.pause();
        this.#poll = setInterval(() => this.#checkUpstreamDrained(), UPSTREAM_DRAIN_POLL_MS);
      }
    },
    drain: () => {
      if (!this.#waitingForClientDrain) return;
      this.#waitingForClientDrain = false;
      this.#upstream?.resume();
    },
    close: (code, reason) => {
      this.#clientClosed = true;
      this.#stopPoll();
      if (this.#upstream && !this.#upstreamClosed) {
        this.#upstream.resume(); // a paused socket could not read the backend's answer to the close
        passClose(this.#upstream, code, reason);
        this.#armCloseTimer();
      }
      this.#maybeEnd();
    },
  };

  /** Closes both sides (tenbin is stopping). */
  shutdown(code: number, reason: string): void {
    if (this.#client && !this.#clientClosed) this.#client.close(code, reason);
    if (this.#upstream && !this.#upstreamClosed) this.#upstream.close(code, reason);
    this.#armCloseTimer();
  }

  #toClient(client: DownstreamWebSocket, data: WebSocketData): void {
    const sent = client.send(data);
    if (sent === -1 && client.canPause && !this.#waitingForClientDrain) {
      // Queued: the client reads slowly. Stop reading the backend until the client drained.
      this.#waitingForClientDrain = true;
      this.#upstream?.pause();
    } else if (sent === 0 && !this.#clientClosed) {
      // Dropped by the runtime: the stream would have a hole, so end it rather than go on.
      client.close(1011, "message dropped");
      this.#upstream?.close(1011, "message dropped");
      this.#armCloseTimer();
    }
  }

  #checkUpstreamDrained(): void {
    const upstream = this.#upstream;
    if (!upstream || this.#upstreamClosed || upstream.bufferedAmount <= UPSTREAM_HIGH_WATER / 4) {
      this.#stopPoll();
      this.#client?.resume();
    }
  }

  #stopPoll(): void {
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#poll = undefined;
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== undefined || this.#ended) return;
    this.#closeTimer = setTimeout(() => {
      if (!this.#clientClosed) this.#client?.terminate();
      if (!this.#upstreamClosed) this.#upstream?.terminate();
      this.#clientClosed = this.#upstreamClosed = true;
      this.#maybeEnd();
    }, CLOSE_GRACE_MS);
  }

  #maybeEnd(): void {
    if (this.#ended || !this.#clientClosed || !this.#upstreamClosed) return;
    this.#ended = true;
    this.#stopPoll();
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#onEnd();
  }
}
