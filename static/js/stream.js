// The answer stream: one EventSource, its connection status and its retries.
//
// The browser's EventSource reconnects by itself after a network error or a clean end of
// the stream (readyState CONNECTING) and sends Last-Event-ID, so the server resumes right
// after the last event we saw. It gives up for good on a non-200 answer or a wrong content
// type (readyState CLOSED); then we retry ourselves with a backoff, passing the last id in
// the URL because a new EventSource does not send the header.

import { Transport } from "./transport.js";

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
 * @typedef {import("./transport.js").EventHandler} EventHandler
 * @typedef {import("./transport.js").StatusHandler} StatusHandler
 */

export class AnswerStream extends Transport {
  /** @type {EventSource | null} */ #source = null;

  /**
   * @protected
   * @param {string} url
   */
  connect(url) {
    const source = new EventSource(url);
    this.#source = source;
    for (const name of STREAM_EVENTS) {
      source.addEventListener(name, (event) => this.#received(source, name, event));
    }
    source.addEventListener("error", () => this.#failed(source));
  }

  /**
   * @param {EventSource} source
   * @param {string} name
   * @param {Event} event
   */
  #received(source, name, event) {
    if (source !== this.#source) return; // a late event of a stream we already closed
    const { data, lastEventId } = /** @type {MessageEvent<string>} */ (event);
    this.deliver(name, data, lastEventId);
  }

  /** @param {EventSource} source */
  #failed(source) {
    if (source !== this.#source) return;
    if (source.readyState !== EventSource.CLOSED) {
      this.retry.retrying(); // the browser is already retrying
      return;
    }
    // A non-200 answer or a wrong content type: EventSource gave up, we retry with a backoff.
    this.disconnect();
    this.retry.refused();
  }

  /** @protected */
  disconnect() {
    super.disconnect();
    this.#source?.close();
    this.#source = null;
  }
}
