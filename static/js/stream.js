// The answer stream: one EventSource, its connection status and its retries.
//
// The browser's EventSource reconnects by itself after a network error or a clean end of
// the stream (readyState CONNECTING) and sends Last-Event-ID, so the server resumes right
// after the last event we saw. It gives up for good on a non-200 answer or a wrong content
// type (readyState CLOSED); then we retry ourselves with a backoff, passing the last id in
// the URL because a new EventSource does not send the header.

export const Status = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  DISCONNECTED: "disconnected",
});

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

const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const MAX_RETRIES_AFTER_GIVE_UP = 10;

/**
 * @callback EventHandler
 * @param {string} name  one of STREAM_EVENTS
 * @param {string} data  the event's data lines joined with "\n"
 * @param {string} id  the stream's last event id as EventSource reports it ("" before any)
 * @returns {void}
 *
 * @callback StatusHandler
 * @param {string} status  one of Status
 * @param {number} attempt  reconnection attempts since the last CONNECTED
 * @returns {void}
 */

export class AnswerStream {
  /** @type {(lastEventId: string | null) => string} */ #url;
  /** @type {EventHandler} */ #onEvent;
  /** @type {StatusHandler} */ #onStatus;
  /** @type {EventSource | null} */ #source = null;
  /** @type {number | undefined} */ #retryTimer = undefined;
  /** @type {string | null} */ #lastEventId;
  #attempt = 0;
  #retriesAfterGiveUp = 0;
  #status = Status.DISCONNECTED;

  /**
   * @param {(lastEventId: string | null) => string} url  called on every new connection,
   *   so it may change (a token, the position to resume after)
   * @param {{ onEvent: EventHandler, onStatus: StatusHandler, lastEventId?: string | null }} options
   *   lastEventId: resume after this event (one a previous page load saw)
   */
  constructor(url, { onEvent, onStatus, lastEventId = null }) {
    this.#url = url;
    this.#onEvent = onEvent;
    this.#onStatus = onStatus;
    this.#lastEventId = lastEventId;
  }

  get status() {
    return this.#status;
  }

  /** The id of the last event received: where a new connection resumes. */
  get lastEventId() {
    return this.#lastEventId;
  }

  /** Open the stream (closing any current one). */
  open() {
    this.#stop();
    this.#setStatus(this.#attempt > 0 ? Status.RECONNECTING : Status.CONNECTING);
    const source = new EventSource(this.#url(this.#lastEventId));
    this.#source = source;
    for (const name of STREAM_EVENTS) {
      source.addEventListener(name, (event) => this.#received(source, name, event));
    }
    source.addEventListener("error", () => this.#failed(source));
  }

  /** A fresh connection chosen by the user: the attempt count starts again. */
  reconnect() {
    this.#attempt = 0;
    this.#retriesAfterGiveUp = 0;
    this.open();
  }

  close() {
    this.#stop();
    this.#setStatus(Status.DISCONNECTED);
  }

  /**
   * @param {EventSource} source
   * @param {string} name
   * @param {Event} event
   */
  #received(source, name, event) {
    if (source !== this.#source) return; // a late event of a stream we already closed
    const { data, lastEventId } = /** @type {MessageEvent<string>} */ (event);
    if (lastEventId) this.#lastEventId = lastEventId;
    if (name === "CONNECTED") {
      this.#attempt = 0;
      this.#retriesAfterGiveUp = 0;
      this.#setStatus(Status.CONNECTED);
    }
    this.#onEvent(name, data, lastEventId);
  }

  /** @param {EventSource} source */
  #failed(source) {
    if (source !== this.#source) return;
    this.#attempt += 1;
    if (source.readyState !== EventSource.CLOSED) {
      this.#setStatus(Status.RECONNECTING); // the browser is already retrying
      return;
    }
    this.#stop();
    if (this.#retriesAfterGiveUp >= MAX_RETRIES_AFTER_GIVE_UP) {
      this.#setStatus(Status.DISCONNECTED);
      return;
    }
    const delay = RETRY_DELAYS_MS[Math.min(this.#retriesAfterGiveUp, RETRY_DELAYS_MS.length - 1)];
    this.#retriesAfterGiveUp += 1;
    this.#setStatus(Status.RECONNECTING);
    this.#retryTimer = window.setTimeout(() => this.open(), delay);
  }

  #stop() {
    window.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#source?.close();
    this.#source = null;
  }

  /** @param {string} status */
  #setStatus(status) {
    this.#status = status;
    this.#onStatus(status, this.#attempt);
  }
}
