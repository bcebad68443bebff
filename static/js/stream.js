// The answer stream: one EventSource, its connection status and its retries.
//
// The browser's EventSource reconnects by itself after a network error or a clean end of
// the stream (readyState CONNECTING) and sends Last-Event-ID, so the server resumes right
// after the last event we saw. It gives up for good on a non-200 answer or a wrong content
// type (readyState CLOSED); then we retry ourselves with a backoff, passing the last id in
// the URL because a new EventSource does not send the header.

import { Reconnection } from "./reconnection.js";

export { Status } from "./reconnection.js";

/** Event names of docs/protocol.md. */
export const STREAM_EVENTS = Object.freeze([
  "CONNECTED",
  "ANSWER_START",
  "ANSWER_CHUNK",
  "ANSWER_END",
  "ERROR",
  "ANSWER_CANCELLED",
  "EVENTS_MISSED",
  "SERVER_SHUTDOWN",
  "REASONING_CHUNK",
  "TOOL_CALL_START",
  "TOOL_CALL_ARGS",
  "TOOL_CALL_END",
  "TOOL_RESULT",
]);

/**
 * @callback EventHandler
 * @param {string} name  one of STREAM_EVENTS
 * @param {string} data  the event's data lines joined with "\n"
 * @param {string} id  the stream's last event id as EventSource reports it ("" before any)
 * @returns {void}
 *
 * @typedef {import("./reconnection.js").StatusHandler} StatusHandler
 */

export class AnswerStream {
  /** @type {(lastEventId: string | null) => string} */ #url;
  /** @type {EventHandler} */ #onEvent;
  /** @type {EventSource | null} */ #source = null;
  /** @type {Reconnection} */ #retry;

  /**
   * @param {(lastEventId: string | null) => string} url  called on every new connection,
   *   so it may change (a token, the position to resume after)
   * @param {{ onEvent: EventHandler, onStatus: StatusHandler, lastEventId?: string | null }} options
   *   lastEventId: resume after this event (one a previous page load saw)
   */
  constructor(url, { onEvent, onStatus, lastEventId = null }) {
    this.#url = url;
    this.#onEvent = onEvent;
    this.#retry = new Reconnection(() => this.open(), onStatus, lastEventId);
  }

  get status() {
    return this.#retry.status;
  }

  /** The id of the last event received: where a new connection resumes. */
  get lastEventId() {
    return this.#retry.lastEventId;
  }

  /** Open the stream (closing any current one). */
  open() {
    this.#stop();
    this.#retry.opening();
    const source = new EventSource(this.#url(this.#retry.lastEventId));
    this.#source = source;
    for (const name of STREAM_EVENTS) {
      source.addEventListener(name, (event) => this.#received(source, name, event));
    }
    source.addEventListener("error", () => this.#failed(source));
  }

  /** A fresh connection chosen by the user: the attempt count starts again. */
  reconnect() {
    this.#retry.reset();
    this.open();
  }

  close() {
    this.#stop();
    this.#retry.stopped();
  }

  /**
   * @param {EventSource} source
   * @param {string} name
   * @param {Event} event
   */
  #received(source, name, event) {
    if (source !== this.#source) return; // a late event of a stream we already closed
    const { data, lastEventId } = /** @type {MessageEvent<string>} */ (event);
    this.#retry.received(name, lastEventId);
    this.#onEvent(name, data, lastEventId);
  }

  /** @param {EventSource} source */
  #failed(source) {
    if (source !== this.#source) return;
    if (source.readyState !== EventSource.CLOSED) {
      this.#retry.retrying(); // the browser is already retrying
      return;
    }
    // A non-200 answer or a wrong content type: EventSource gave up, we retry with a backoff.
    this.#stop();
    this.#retry.refused();
  }

  #stop() {
    this.#retry.cancel();
    this.#source?.close();
    this.#source = null;
  }
}
