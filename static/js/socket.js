// The WebSocket transport (`?transport=ws`): the same stream as stream.js, plus ask and
// cancel on the same socket (docs/protocol.md, "WebSocket").
//
// Events arrive as {"event", "id", "data"} and are handed on exactly as AnswerStream hands
// on EventSource events. Asks and cancels carry a `ref`; the reply with the same ref
// (accepted, cancelled or error) settles their promise with the shape api.js returns, so
// the conversation cannot tell the transports apart. A socket that closes is opened again
// with ?last_event_id=, so the server replays what it missed; refusals (close codes
// 4000 + HTTP status) are retried with a backoff, like an EventSource that gave up.

import { Transport } from "./transport.js";

const REFUSED = 4000; // close codes from here on are 4000 + the HTTP status of a refusal
const FIRST_RETRY_MS = 1000; // until CONNECTED brings the server's `retry`

/**
 * @typedef {import("./api.js").ApiResult} ApiResult
 */

export class AnswerSocket extends Transport {
  /** @type {WebSocket | null} */ #socket = null;
  /** @type {Map<number, (result: ApiResult) => void>} */ #pending = new Map();
  #nextRef = 1;
  #retryMs = FIRST_RETRY_MS;

  /**
   * @protected
   * @param {string} url  the ws:// URL
   */
  connect(url) {
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.addEventListener("message", (event) => this.#received(socket, event));
    socket.addEventListener("close", (event) => this.#closed(socket, event));
  }

  /**
   * Submit a question on the socket; the answer arrives on it too.
   * @param {string} question
   * @returns {Promise<ApiResult>}
   */
  ask(question) {
    return this.#request({ type: "ask", question });
  }

  /**
   * Stop the running answer and drop queued ones.
   * @returns {Promise<ApiResult>}
   */
  cancel() {
    return this.#request({ type: "cancel" });
  }

  /**
   * @param {Record<string, unknown>} message
   * @returns {Promise<ApiResult>}
   */
  #request(message) {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== WebSocket.OPEN) {
      return Promise.resolve(networkError("the socket is not open"));
    }
    const ref = this.#nextRef++;
    socket.send(JSON.stringify({ ...message, ref }));
    return new Promise((resolve) => this.#pending.set(ref, resolve));
  }

  /**
   * @param {WebSocket} socket
   * @param {MessageEvent} event
   */
  #received(socket, event) {
    if (socket !== this.#socket) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return; // the server sends JSON only
    }
    if (typeof message?.event === "string") {
      this.#streamEvent(message);
    } else if (typeof message?.ref === "number") {
      this.#settle(message.ref, reply(message));
    }
  }

  /** @param {{ event: string, id: string | null, data: string, retry?: number }} message */
  #streamEvent({ event, id, data, retry }) {
    if (event === "CONNECTED" && typeof retry === "number") this.#retryMs = retry;
    this.deliver(event, data, id);
  }

  /**
   * @param {WebSocket} socket
   * @param {CloseEvent} event
   */
  #closed(socket, event) {
    if (socket !== this.#socket) return;
    this.#socket = null;
    this.#failPending("the socket closed");
    // Lifetime, shutdown, a slow reader, a lost network: come back after the server's delay,
    // for as long as it takes, as EventSource does. A refusal: back off, give up in the end.
    if (event.code < REFUSED) this.retry.lost(this.#retryMs);
    else this.retry.refused();
  }

  /**
   * @param {number} ref
   * @param {ApiResult} result
   */
  #settle(ref, result) {
    const resolve = this.#pending.get(ref);
    this.#pending.delete(ref);
    resolve?.(result);
  }

  /** @param {string} why */
  #failPending(why) {
    for (const resolve of this.#pending.values()) resolve(networkError(why));
    this.#pending.clear();
  }

  /** @protected */
  disconnect() {
    super.disconnect();
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
    this.#failPending("the socket was closed");
  }
}

/**
 * @param {Record<string, unknown>} message  accepted, cancelled or error
 * @returns {ApiResult}
 */
function reply(message) {
  if (message.type === "error") {
    return {
      ok: false,
      status: typeof message.status === "number" ? message.status : 0,
      code: typeof message.error === "string" ? message.error : "error",
      message: typeof message.message === "string" ? message.message : "",
    };
  }
  return { ok: true, status: message.type === "accepted" ? 202 : 200, data: message };
}

/**
 * @param {string} message
 * @returns {ApiResult}
 */
function networkError(message) {
  return { ok: false, status: 0, code: "network_error", message };
}
