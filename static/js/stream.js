// The answer stream: one EventSource, its connection status and its retries.
//
// The browser's EventSource reconnects by itself after a network error or a clean end of
// the stream (readyState CONNECTING); it gives up for good on a non-200 answer or a wrong
// content type (readyState CLOSED), and then we retry ourselves with a backoff.

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
]);

const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const MAX_RETRIES_AFTER_GIVE_UP = 10;

/**
 * @callback EventHandler
 * @param {string} name  one of STREAM_EVENTS
 * @param {string} data  the event's data lines joined with "\n"
 * @returns {void}
 *
 * @callback StatusHandler
 * @param {string} status  one of Status
 * @param {number} attempt  reconnection attempts since the last CONNECTED
 * @returns {void}
 */

export class AnswerStream {
  /** @type {() => string} */ #url;
  /** @type {EventHandler} */ #onEvent;
  /** @type {StatusHandler} */ #onStatus;
  /** @type {EventSource | null} */ #source = null;
  /** @type {number | undefined} */ #retryTimer = undefined;
  #attempt = 0;
  #retriesAfterGiveUp = 0;
  #status = Status.DISCONNECTED;

  /**
   * @param {() => string} url  called on every (re)connection, so it may change (a token)
   * @param {{ onEvent: EventHandler, onStatus: StatusHandler }} handlers
   */
  constructor(url, { onEvent, onStatus }) {
    this.#url = url;
    this.#onEvent = onEvent;
    this.#onStatus = onStatus;
  }

  get status() {
    return this.#status;
  }

  /** Open the stream (closing any current one). */
  open() {
    this.#stop();
    this.#setStatus(this.#attempt > 0 ? Status.RECONNECTING : Status.CONNECTING);
    const source = new EventSource(this.#url());
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
    if (name === "CONNECTED") {
      this.#attempt = 0;
      this.#retriesAfterGiveUp = 0;
      this.#setStatus(Status.CONNECTED);
    }
    this.#onEvent(name, /** @type {MessageEvent<string>} */ (event).data);
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
