// What both transports share around their connection (stream.js over EventSource, socket.js
// over a WebSocket): the URL for each new connection, the event handler, the Reconnection,
// and open / reconnect / close. A transport says only how to connect and how to let go.

import { Reconnection } from "./reconnection.js";

/**
 * @callback EventHandler
 * @param {string} name  one of STREAM_EVENTS (stream.js)
 * @param {string} data  the event's data lines joined with "\n"
 * @param {string} id  the stream's last event id ("" before any)
 * @returns {void}
 *
 * @typedef {import("./reconnection.js").StatusHandler} StatusHandler
 * @typedef {{ onEvent: EventHandler, onStatus: StatusHandler, lastEventId?: string | null }} TransportOptions
 *   lastEventId: resume after this event (one a previous page load saw)
 */

/** @abstract */
export class Transport {
  /** @type {(lastEventId: string | null) => string} */ #url;
  /** @type {EventHandler} */ #onEvent;
  /** @type {Reconnection} */ #retry;

  /**
   * @param {(lastEventId: string | null) => string} url  called on every new connection,
   *   so it may change (a token, the position to resume after)
   * @param {TransportOptions} options
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

  /** Open a connection (closing any current one). */
  open() {
    this.disconnect();
    this.#retry.opening();
    this.connect(this.#url(this.#retry.lastEventId));
  }

  /** A fresh connection chosen by the user: the attempt count starts again. */
  reconnect() {
    this.#retry.reset();
    this.open();
  }

  close() {
    this.disconnect();
    this.#retry.stopped();
  }

  /**
   * For a transport: when to connect again (the Reconnection of this transport).
   * @protected
   */
  get retry() {
    return this.#retry;
  }

  /**
   * For a transport: hand one event on, noting its id.
   * @protected
   * @param {string} name
   * @param {string} data
   * @param {string | null} id
   */
  deliver(name, data, id) {
    this.#retry.received(name, id);
    this.#onEvent(name, data, this.#retry.lastEventId ?? "");
  }

  /**
   * For a transport: open its connection to `url`.
   * @abstract
   * @protected
   * @param {string} url
   * @returns {void}
   */
  connect(url) {
    throw new Error(`${this.constructor.name} does not connect to ${url}`);
  }

  /**
   * For a transport: let go of the current connection, if any; no retry stays pending.
   * @protected
   */
  disconnect() {
    this.#retry.cancel();
  }
}
