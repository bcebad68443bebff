// What both transports keep about reconnecting (transport.js, for stream.js over EventSource
// and socket.js over a WebSocket): the status they report, the attempts since the last
// CONNECTED, the last event id (where a new connection resumes), and when to open again:
// after a lost connection at once or after a given delay, after a refusal with a growing
// backoff, giving up in the end.

export const Status = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  DISCONNECTED: "disconnected",
});

const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const MAX_RETRIES_AFTER_REFUSAL = 10;

/**
 * @callback StatusHandler
 * @param {string} status  one of Status
 * @param {number} attempt  reconnection attempts since the last CONNECTED
 * @returns {void}
 */

export class Reconnection {
  /** @type {() => void} */ #open;
  /** @type {StatusHandler} */ #onStatus;
  /** @type {number | undefined} */ #retryTimer = undefined;
  #attempt = 0;
  #refusals = 0;
  #status = Status.DISCONNECTED;
  /** @type {string | null} the id of the last event received */ lastEventId;

  /**
   * @param {() => void} open  opens a new connection
   * @param {StatusHandler} onStatus
   * @param {string | null} lastEventId  resume after this event (one a previous page load saw)
   */
  constructor(open, onStatus, lastEventId) {
    this.#open = open;
    this.#onStatus = onStatus;
    this.lastEventId = lastEventId;
  }

  get status() {
    return this.#status;
  }

  /** A connection is being opened (any pending retry is dropped). */
  opening() {
    this.cancel();
    this.#setStatus(this.#attempt > 0 ? Status.RECONNECTING : Status.CONNECTING);
  }

  /**
   * An event arrived; CONNECTED means the connection is up.
   * @param {string} name
   * @param {string | null} id
   */
  received(name, id) {
    if (id) this.lastEventId = id;
    if (name === "CONNECTED") {
      this.#attempt = 0;
      this.#refusals = 0;
      this.#setStatus(Status.CONNECTED);
    }
  }

  /** A fresh connection chosen by the user: the attempt count starts again. */
  reset() {
    this.#attempt = 0;
    this.#refusals = 0;
  }

  /** The connection dropped and the browser is retrying by itself. */
  retrying() {
    this.#attempt += 1;
    this.#setStatus(Status.RECONNECTING);
  }

  /** @param {number} delay  the connection dropped: open again after this many ms */
  lost(delay) {
    this.#attempt += 1;
    this.#retryLater(delay);
  }

  /** The server refused the connection: back off, and give up after a while. */
  refused() {
    this.#attempt += 1;
    if (this.#refusals >= MAX_RETRIES_AFTER_REFUSAL) {
      this.#setStatus(Status.DISCONNECTED);
      return;
    }
    this.#retryLater(RETRY_DELAYS_MS[Math.min(this.#refusals, RETRY_DELAYS_MS.length - 1)]);
    this.#refusals += 1;
  }

  /** Closed on purpose. */
  stopped() {
    this.cancel();
    this.#setStatus(Status.DISCONNECTED);
  }

  cancel() {
    window.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  /** @param {number} delay */
  #retryLater(delay) {
    this.#setStatus(Status.RECONNECTING);
    this.#retryTimer = window.setTimeout(() => this.#open(), delay);
  }

  /** @param {string} status */
  #setStatus(status) {
    this.#status = status;
    this.#onStatus(status, this.#attempt);
  }
}
