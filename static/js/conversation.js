// Matches stream events to answer bubbles and keeps send/stop in step with them.
//
// Events carry no answer id, so answers are matched in order: the first ANSWER_START
// takes the oldest question this tab sent; one nobody here asked for (another tab of the
// same user) gets a bubble of its own. When the stream drops, open answers are marked
// interrupted but remembered: the reconnect resumes after Last-Event-ID, so their missing
// events usually arrive and continue them; EVENTS_MISSED says they never will.

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
  /** @type {AnswerBubble[]} asked here, ANSWER_START not seen yet */ #waiting = [];
  /** @type {AnswerBubble | null} started, receiving chunks */ #active = null;
  /** @type {AnswerBubble | null} started, then cut off by a dropped stream */ #cutOff = null;
  /** @type {AnswerBubble[]} were waiting when the stream dropped */ #cutOffWaiting = [];

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

  /**
   * Answers a reload cut off (oldest first); the resumed stream may still continue them.
   * @param {AnswerBubble[]} answers
   */
  resume(answers) {
    for (const answer of answers) {
      if (answer.started) this.#cutOff = answer;
      else this.#cutOffWaiting.push(answer);
    }
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
      const reason = "Nothing was running any more.";
      this.#current()?.cancel(reason);
      this.#active = null;
      this.#dropWaiting(reason);
      this.#sync();
      return;
    }
    const { summary, detail } = describeFailure(result);
    this.#view.addNotice(`Could not stop the answer: ${summary} ${detail}`, "error");
  }

  clear() {
    this.#view.clear();
    this.#cutOff = null;
    this.#cutOffWaiting = [];
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
        // Cut-off questions were queued first, so they start first.
        let answer = this.#cutOffWaiting.shift() ?? this.#waiting.shift();
        if (answer === undefined) {
          this.#view.addNotice(data); // asked from another tab of this stream
          answer = this.#view.addAnswer();
        }
        this.#cutOff = null;
        answer.start();
        this.#active = answer;
        break;
      }
      case "ANSWER_CHUNK":
        this.#running().append(data);
        break;
      case "REASONING_CHUNK":
        this.#running().think(data);
        break;
      case "TOOL_CALL_START":
      case "TOOL_CALL_ARGS":
      case "TOOL_CALL_END":
      case "TOOL_RESULT":
        this.#toolEvent(name, data);
        break;
      case "ANSWER_END":
        this.#current()?.finish();
        this.#active = null;
        break;
      case "ERROR": {
        const answer = this.#current() ?? this.#cutOffWaiting.shift() ?? this.#waiting.shift();
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
      case "EVENTS_MISSED":
        // The resume has a gap (the server restarted, say): what was cut off stays cut off.
        this.#cutOff?.lose(data);
        for (const answer of this.#cutOffWaiting) answer.lose(data);
        this.#cutOff = null;
        this.#cutOffWaiting = [];
        break;
      case "SERVER_SHUTDOWN":
        this.#view.addNotice(data);
        break;
      default:
        break; // CONNECTED: the status shows it
    }
    this.#sync();
  }

  /** @param {string} status */
  statusChanged(status) {
    if (status !== Status.CONNECTED) {
      if (this.#active?.isOpen) {
        this.#active.interrupt();
        this.#cutOff = this.#active;
      }
      this.#active = null;
      for (const answer of this.#waiting) answer.interrupt();
      this.#cutOffWaiting.push(...this.#waiting);
      this.#waiting = [];
    }
    this.#sync();
  }

  /** The answer a piece of it belongs to (a new bubble when the stream began mid-answer). */
  #running() {
    const answer = this.#current() ?? this.#view.addAnswer();
    this.#active = answer;
    return answer;
  }

  /**
   * A TOOL_CALL_* or TOOL_RESULT event: JSON data naming the call (docs/protocol.md).
   * @param {string} name
   * @param {string} data
   */
  #toolEvent(name, data) {
    const call = parseObject(data);
    if (call === null || typeof call.id !== "string") return; // not ours to guess at
    const answer = this.#running();
    if (name === "TOOL_CALL_START") answer.startTool(call.id, String(call.name ?? "tool"));
    else if (name === "TOOL_CALL_ARGS") answer.toolArgs(call.id, String(call.delta ?? ""));
    else if (name === "TOOL_CALL_END") answer.toolInput(call.id, call.arguments);
    else answer.toolResult(call.id, call.output);
  }

  /** The started answer that stream events are about, if any (a cut-off one resumes). */
  #current() {
    const answer = this.#active ?? this.#cutOff;
    this.#cutOff = null;
    return answer;
  }

  /** @param {string} reason */
  #dropWaiting(reason) {
    for (const answer of [...this.#waiting, ...this.#cutOffWaiting]) answer.cancel(reason);
    this.#waiting = [];
    this.#cutOffWaiting = [];
  }

  #sync() {
    this.#controls.setBusy(Boolean(this.#active?.isOpen) || this.#waiting.length > 0);
  }
}

/**
 * @param {string} text
 * @returns {Record<string, unknown> | null}  the JSON object in `text`, else null
 */
function parseObject(text) {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
