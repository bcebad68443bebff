// Matches stream events to answer bubbles and keeps send/stop in step with them.
//
// Events carry no answer id, so answers are matched in order: the first ANSWER_START
// takes the oldest question this tab sent; one nobody here asked for (another tab of the
// same user) gets a bubble of its own.

import { describeFailure } from "./errors.js";
import { Status } from "./stream.js";

/**
 * @typedef {import("./api.js").QaApi} QaApi
 * @typedef {import("./controls.js").Controls} Controls
 * @typedef {import("./view.js").ConversationView} ConversationView
 * @typedef {import("./view.js").AnswerBubble} AnswerBubble
 */

export class Conversation {
  /** @type {ConversationView} */ #view;
  /** @type {Controls} */ #controls;
  /** @type {QaApi} */ #api;
  /** @type {AnswerBubble[]} answers asked here that have not started yet */ #waiting = [];
  /** @type {AnswerBubble | null} the answer receiving chunks */ #active = null;
  /** @type {AnswerBubble | null} cut off by a dropped stream; resumed if chunks still come */
  #interrupted = null;

  /**
   * @param {ConversationView} view
   * @param {Controls} controls
   * @param {QaApi} api
   */
  constructor(view, controls, api) {
    this.#view = view;
    this.#controls = controls;
    this.#api = api;
  }

  /** @param {string} question */
  async ask(question) {
    this.#view.addQuestion(question);
    const answer = this.#view.addAnswer();
    this.#waiting.push(answer);
    this.#sync();
    const result = await this.#api.ask(question);
    if (!result.ok) {
      this.#waiting = this.#waiting.filter((waiting) => waiting !== answer);
      const { summary, detail } = describeFailure(result);
      answer.reject(summary, detail);
      this.#controls.restoreQuestion(question);
      this.#sync();
    }
  }

  async stop() {
    this.#controls.setStopping(true);
    const result = await this.#api.cancel();
    this.#controls.setStopping(false);
    if (result.ok) return; // ANSWER_CANCELLED on the stream closes the bubble
    if (result.code === "nothing_running") {
      // The server has nothing left to stop: whatever we still show as open is over.
      this.#current()?.cancel("Nothing was running any more.");
      this.#dropWaiting("Nothing was running any more.");
      this.#sync();
      return;
    }
    const { summary, detail } = describeFailure(result);
    this.#view.addNotice(`Could not stop the answer: ${summary} ${detail}`, "error");
  }

  clear() {
    this.#view.clear();
    this.#interrupted = null;
    // A running answer stays on screen: its chunks are still coming.
    if (this.#active?.isOpen) this.#view.adopt(this.#active);
    for (const answer of this.#waiting) this.#view.adopt(answer);
  }

  /**
   * @param {string} name
   * @param {string} data
   */
  receive(name, data) {
    switch (name) {
      case "ANSWER_START": {
        let answer = this.#waiting.shift();
        if (answer === undefined) {
          this.#view.addNotice(data); // asked from another tab of this stream
          answer = this.#view.addAnswer();
        }
        this.#interrupted = null;
        answer.start();
        this.#active = answer;
        break;
      }
      case "ANSWER_CHUNK": {
        const answer = this.#current() ?? this.#view.addAnswer();
        this.#active = answer;
        answer.append(data);
        break;
      }
      case "ANSWER_END":
        this.#current()?.finish();
        this.#active = null;
        break;
      case "ERROR": {
        const answer = this.#current() ?? this.#waiting.shift();
        if (answer) answer.fail(data);
        else this.#view.addNotice(`Error: ${data}`, "error");
        this.#active = null;
        break;
      }
      case "ANSWER_CANCELLED":
        this.#current()?.cancel(data);
        this.#active = null;
        this.#dropWaiting(data); // the server drops queued questions too
        break;
      default:
        break; // CONNECTED: the status shows it
    }
    this.#sync();
  }

  /** @param {string} status */
  statusChanged(status) {
    if (status !== Status.CONNECTED) {
      // Without an open connection the server stops the answer: say so instead of typing on.
      const active = this.#active;
      if (active?.isOpen) {
        active.interrupt();
        this.#interrupted = active;
      }
      this.#active = null;
      for (const answer of this.#waiting) answer.interrupt();
      this.#waiting = [];
    }
    this.#sync();
  }

  /** The answer that stream events are about, if any. */
  #current() {
    const answer = this.#active ?? this.#interrupted;
    this.#interrupted = null;
    return answer;
  }

  /** @param {string} reason */
  #dropWaiting(reason) {
    for (const answer of this.#waiting) answer.cancel(reason);
    this.#waiting = [];
  }

  #sync() {
    this.#controls.setBusy(Boolean(this.#active?.isOpen) || this.#waiting.length > 0);
  }
}
