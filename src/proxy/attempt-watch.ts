/**
 * Response timeouts and client aborts of forwarding attempts, watched for all attempts of a process
 * together instead of with a timer and an abort listener per attempt.
 *
 * Arming and clearing a timer and listening to the client's `req.signal` (which Bun creates on
 * first read) cost about 1 µs per request on Bun 1.4.5, almost always for nothing: most answers
 * come within milliseconds. Here an attempt is a node in a list, and one timer per timeout value
 * fires when the oldest node needs attention. A node still waiting `LISTEN_AFTER_MS` after it
 * started starts listening to its client then; a client that already left is seen at once (a
 * request signal first read after its client left reads aborted — checked on Bun 1.4.5). So a
 * departed client is noticed at most `LISTEN_AFTER_MS` late, and a quick answer never touches it.
 */
import type { Abortable } from "../util/abort.ts";
import { type Clock, systemClock } from "../util/clock.ts";

/** The client of an attempt: a request whose signal aborts when the client goes away. */
export interface Client {
  readonly signal: AbortSignal;
}

/** How long an attempt waits before it listens for its client going away (see above). */
export const LISTEN_AFTER_MS = 100;

/** Runs `fn` after `ms`; returns how to cancel it. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const realSchedule: Schedule = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  // Attempts in flight keep the process alive by their sockets; a timer left armed for a node
  // that finished must not.
  (timer as { unref?: () => void }).unref?.();
  return () => clearTimeout(timer);
};

/** One attempt being watched: returned by `AttemptWatch.start`, handed back to `finish`. */
export class WatchedAttempt {
  readonly controller: Abortable;
  readonly client: Client;
  readonly startedAt: number;
  /** Whether the attempt listens to its client already. */
  listening = false;
  prev: WatchedAttempt | undefined = undefined;
  next: WatchedAttempt | undefined = undefined;
  /** The lane it is in; undefined once finished. */
  lane: Lane | undefined;

  constructor(controller: Abortable, client: Client, startedAt: number, lane: Lane) {
    this.controller = controller;
    this.client = client;
    this.startedAt = startedAt;
    this.lane = lane;
  }
}

/** Attempts in start order; a doubly linked list, so removing one is O(1) and allocates nothing. */
class AttemptList {
  head: WatchedAttempt | undefined = undefined;
  tail: WatchedAttempt | undefined = undefined;

  push(node: WatchedAttempt): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  remove(node: WatchedAttempt): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
  }
}

/**
 * The attempts of one timeout value. They join in start order and share the timeout, so each list
 * is in deadline order too: what is due is always at a head.
 */
class Lane {
  readonly timeoutMs: number;
  /** Attempts not listening to their client yet. */
  readonly quiet = new AttemptList();
  /** Attempts listening to their client, waiting for their deadline. */
  readonly listening = new AttemptList();
  cancelTimer: (() => void) | undefined = undefined;
  /** When the armed timer fires; Infinity when none is armed. */
  armedFor = Number.POSITIVE_INFINITY;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** When the lane next needs attention; Infinity when it is empty. */
  nextDue(): number {
    let due = Number.POSITIVE_INFINITY;
    if (this.quiet.head) due = this.quiet.head.startedAt + Math.min(LISTEN_AFTER_MS, this.timeoutMs);
    if (this.listening.head) due = Math.min(due, this.listening.head.startedAt + this.timeoutMs);
    return due;
  }
}

/** Watches the forwarding attempts of a process: response deadlines and clients that go away. */
export class AttemptWatch {
  readonly #lanes = new Map<number, Lane>();
  readonly #clock: Clock;
  readonly #schedule: Schedule;

  constructor(clock: Clock = systemClock, schedule: Schedule = realSchedule) {
    this.#clock = clock;
    this.#schedule = schedule;
  }

  /**
   * Watches an attempt: `controller` is aborted with a TimeoutError when `finish` did not come
   * within `timeoutMs`, and with an AbortError when `client` goes away before that.
   */
  start(controller: Abortable, client: Client, timeoutMs: number): WatchedAttempt {
    let lane = this.#lanes.get(timeoutMs);
    if (lane === undefined) {
      lane = new Lane(timeoutMs);
      this.#lanes.set(timeoutMs, lane);
    }
    const node = new WatchedAttempt(controller, client, this.#clock.now(), lane);
    const first = lane.quiet.head === undefined;
    lane.quiet.push(node);
    // Behind another quiet node it is due after that one, which the timer already covers.
    if (first) this.#arm(lane);
    return node;
  }

  /**
   * Stops watching (the answer's headers came, or the attempt failed). A node that listens keeps
   * its listener: a client leaving while the body streams should still stop the download.
   */
  finish(node: WatchedAttempt): void {
    const lane = node.lane;
    if (lane === undefined) return;
    node.lane = undefined;
    (node.listening ? lane.listening : lane.quiet).remove(node);
  }

  /** Attempts watched now. */
  get size(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) {
      for (let node = lane.quiet.head; node; node = node.next) n++;
      for (let node = lane.listening.head; node; node = node.next) n++;
    }
    return n;
  }

  #arm(lane: Lane): void {
    const due = lane.nextDue();
    if (due >= lane.armedFor) return;
    lane.cancelTimer?.();
    lane.armedFor = due;
    // Rounded up: a timer that fired a fraction early would find nothing due and arm again.
    lane.cancelTimer = this.#schedule(() => this.#sweep(lane), Math.max(1, Math.ceil(due - this.#clock.now())));
  }

  #sweep(lane: Lane): void {
    lane.cancelTimer = undefined;
    lane.armedFor = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const expiredFrom = now - lane.timeoutMs;
    const listenFrom = Math.max(expiredFrom, now - LISTEN_AFTER_MS);
    for (let node = lane.listening.head; node && node.startedAt <= expiredFrom; node = lane.listening.head) this.#expire(node);
    for (let node = lane.quiet.head; node && node.startedAt <= listenFrom; node = lane.quiet.head) {
      if (node.startedAt <= expiredFrom) {
        this.#expire(node);
        continue;
      }
      lane.quiet.remove(node);
      node.listening = true;
      lane.listening.push(node);
      abortWhenClientLeaves(node.controller, node.client);
    }
    if (lane.quiet.head === undefined && lane.listening.head === undefined) {
      // One lane per timeout value in use; dropping empty ones keeps reloads from piling them up.
      this.#lanes.delete(lane.timeoutMs);
      return;
    }
    this.#arm(lane);
  }

  #expire(node: WatchedAttempt): void {
    this.finish(node);
    node.controller.abort(new DOMException("response timeout", "TimeoutError"));
  }
}

/** Aborts `controller` when `client` goes away (at once when it has already). */
export function abortWhenClientLeaves(controller: Abortable, client: Client): void {
  const signal = client.signal;
  const abort = () => controller.abort(new DOMException("client went away", "AbortError"));
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort, { once: true });
}
