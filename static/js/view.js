// The conversation: question bubbles, answer bubbles that grow, and notices.
// Every text from the user or the server goes in through textContent, never as HTML;
// answers are Markdown, rendered and sanitised by parts.js.

import { TextPart, ThinkingPart, ToolCard, element } from "./parts.js";

/** Lifecycle of one answer bubble (also its data-state attribute, for CSS and tests). */
export const AnswerState = Object.freeze({
  PENDING: "pending", // question sent, ANSWER_START not seen yet
  STREAMING: "streaming", // between ANSWER_START and the end
  DONE: "done", // ANSWER_END
  ERROR: "error", // ERROR event
  CANCELLED: "cancelled", // ANSWER_CANCELLED (or dropped from the queue)
  INTERRUPTED: "interrupted", // the stream dropped mid-answer; a resume may continue it
  INCOMPLETE: "incomplete", // EVENTS_MISSED: the rest of it is lost
  REJECTED: "rejected", // the ask request itself failed
});

const OPEN_STATES = new Set([AnswerState.PENDING, AnswerState.STREAMING]);
const KNOWN_STATES = new Set(Object.values(AnswerState));
const NEAR_BOTTOM_PX = 64;

/**
 * What a reload needs to show a message again (see transcript.js).
 * @typedef {{ label: string, message: string, detail: string }} Note
 * @typedef {{ kind: "question", text: string }
 *   | { kind: "notice", text: string, level: "info" | "error" }
 *   | ({ kind: "answer" } & AnswerSnapshot)} Entry
 * @typedef {import("./parts.js").PartSnapshot} PartSnapshot
 * @typedef {{ text: string, state: string, started: boolean, note: Note | null,
 *   parts?: PartSnapshot[] }} AnswerSnapshot
 */

export class ConversationView {
  /** @type {HTMLElement} */ #list;
  /** @type {HTMLElement} */ #scroller;
  /** @type {WeakMap<Element, AnswerBubble>} */ #answers = new WeakMap();

  /**
   * @param {HTMLElement} list  the aria-live log that holds the messages
   * @param {HTMLElement} scroller  the element that scrolls them
   */
  constructor(list, scroller) {
    this.#list = list;
    this.#scroller = scroller;
  }

  /** @param {string} text */
  addQuestion(text) {
    const bubble = element("div", "msg msg-user", "user-message");
    bubble.append(textBlock(text));
    this.#add(bubble, true);
  }

  /** A new, pending answer bubble at the end of the conversation. */
  addAnswer() {
    const answer = new AnswerBubble((change) => this.#keepAtBottom(change, false));
    this.#answers.set(answer.element, answer);
    this.#add(answer.element, true);
    return answer;
  }

  /**
   * A one-line notice between messages (an answer asked for in another tab, say).
   * @param {string} text
   * @param {"info" | "error"} [kind]
   */
  addNotice(text, kind = "info") {
    const notice = element("p", `notice notice-${kind}`, "notice");
    notice.textContent = text;
    this.#add(notice, false);
  }

  clear() {
    this.#list.replaceChildren();
  }

  /**
   * Show an existing answer bubble again (after clear(), for one still running).
   * @param {AnswerBubble} answer
   */
  adopt(answer) {
    this.#add(answer.element, true);
  }

  /**
   * The conversation as plain data, oldest first.
   * @returns {Entry[]}
   */
  snapshot() {
    return Array.from(this.#list.children, (node) => {
      const answer = this.#answers.get(node);
      if (answer) return { kind: "answer", ...answer.snapshot() };
      const text = node.textContent ?? "";
      if (node.matches('[data-testid="user-message"]')) return { kind: "question", text };
      const level = node.classList.contains("notice-error") ? "error" : "info";
      return { kind: "notice", text, level };
    });
  }

  /**
   * Show a snapshot again. Answers that were not finished come back interrupted.
   * @param {Entry[]} entries
   * @returns {AnswerBubble[]}  the unfinished answers, oldest first: the stream may continue them
   */
  restore(entries) {
    /** @type {AnswerBubble[]} */
    const unfinished = [];
    for (const entry of entries) {
      if (entry.kind === "question") this.addQuestion(entry.text);
      else if (entry.kind === "notice") this.addNotice(entry.text, entry.level);
      else {
        const answer = this.addAnswer();
        if (answer.restore(entry)) unfinished.push(answer);
      }
    }
    return unfinished;
  }

  /** @param {HTMLElement} node @param {boolean} force */
  #add(node, force) {
    this.#keepAtBottom(() => this.#list.append(node), force);
  }

  /**
   * Apply a change and stay pinned to the bottom if the reader was there (or `force`);
   * a reader who scrolled up to re-read is left alone.
   * @param {() => void} change
   * @param {boolean} force
   */
  #keepAtBottom(change, force) {
    const s = this.#scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
    change();
    if (force || atBottom) s.scrollTop = s.scrollHeight;
  }
}

export class AnswerBubble {
  /** @type {HTMLElement} */ element;
  /** @type {HTMLElement} */ #parts;
  /** @type {HTMLElement} */ #typing;
  /** @type {HTMLElement} */ #note;
  /** @type {(change: () => void) => void} */ #keepAtBottom;
  /** @type {Note | null} */ #noteContent = null;
  /** @type {Array<TextPart | ThinkingPart | ToolCard>} */ #content = [];
  #state = AnswerState.PENDING;
  #started = false;

  /** @param {(change: () => void) => void} keepAtBottom */
  constructor(keepAtBottom) {
    this.#keepAtBottom = keepAtBottom;
    this.element = element("div", "msg msg-answer", "answer");
    this.#parts = element("div", "msg-parts");
    this.#typing = element("span", "typing", "typing");
    this.#typing.setAttribute("role", "img");
    this.#typing.setAttribute("aria-label", "The answer is being written");
    this.#typing.append(element("span"), element("span"), element("span"));
    this.#note = element("p", "msg-note", "answer-note");
    this.#note.hidden = true;
    this.element.append(this.#parts, this.#typing, this.#note);
    this.#render();
  }

  get state() {
    return this.#state;
  }

  /** Still waiting for text or its end. */
  get isOpen() {
    return OPEN_STATES.has(this.#state);
  }

  /** The answer's text (Markdown source), every text part joined. */
  get text() {
    return this.#content
      .filter((part) => part instanceof TextPart)
      .map((part) => part.text)
      .join("");
  }

  /** ANSWER_START (or a first chunk) arrived for it. */
  get started() {
    return this.#started;
  }

  /** ANSWER_START arrived. */
  start() {
    this.#started = true;
    this.#set(AnswerState.STREAMING);
  }

  /** @param {string} chunk  one ANSWER_CHUNK, newlines and all */
  append(chunk) {
    this.#grow(() => this.#last(TextPart, () => new TextPart()).append(chunk));
  }

  /** @param {string} chunk  one REASONING_CHUNK */
  think(chunk) {
    this.#grow(() => this.#last(ThinkingPart, () => new ThinkingPart()).append(chunk));
  }

  /**
   * TOOL_CALL_START: a new card.
   * @param {string} id
   * @param {string} name
   */
  startTool(id, name) {
    this.#grow(() => this.#add(new ToolCard(id, name)));
  }

  /**
   * TOOL_CALL_ARGS
   * @param {string} id
   * @param {string} delta
   */
  toolArgs(id, delta) {
    this.#grow(() => this.#tool(id)?.appendArgs(delta));
  }

  /**
   * TOOL_CALL_END: the arguments are complete.
   * @param {string} id
   * @param {unknown} args
   */
  toolInput(id, args) {
    this.#grow(() => this.#tool(id)?.setInput(args));
  }

  /**
   * TOOL_RESULT
   * @param {string} id
   * @param {unknown} output
   */
  toolResult(id, output) {
    this.#grow(() => this.#tool(id)?.setResult(output));
  }

  finish() {
    this.#set(AnswerState.DONE);
  }

  /** @param {string} reason  the ERROR event's text */
  fail(reason) {
    this.#set(AnswerState.ERROR, "Error", reason);
  }

  /** @param {string} message  the ANSWER_CANCELLED text, or why the answer was dropped */
  cancel(message) {
    this.#set(AnswerState.CANCELLED, "Stopped", message);
  }

  /** The stream dropped: the answer continues here if the resumed stream brings the rest. */
  interrupt() {
    this.#set(AnswerState.INTERRUPTED, "Connection lost", "it continues when the stream is back.");
  }

  /** @param {string} message  EVENTS_MISSED: the rest of this answer will never come */
  lose(message) {
    this.#set(AnswerState.INCOMPLETE, "Incomplete", message);
  }

  /**
   * The ask request failed, so no answer will come.
   * @param {string} summary  what happened, for people
   * @param {string} detail  status and error code, for whoever debugs it
   */
  reject(summary, detail) {
    this.#set(AnswerState.REJECTED, "Not sent", summary, detail);
  }

  /** @returns {AnswerSnapshot} */
  snapshot() {
    return {
      text: this.text,
      state: this.#state,
      started: this.#started,
      note: this.#noteContent,
      parts: this.#content.map((part) => part.snapshot()),
    };
  }

  /**
   * Take over a snapshot; an unfinished answer (open or cut off) comes back interrupted.
   * @param {AnswerSnapshot} snapshot
   * @returns {boolean}  whether the answer was unfinished
   */
  restore({ text, state, started, note, parts }) {
    for (const part of parts ?? [{ kind: "text", text }]) {
      if (part.kind === "tool") {
        const card = new ToolCard(part.id, part.name);
        card.restore(part);
        this.#add(card);
      } else {
        const restored = part.kind === "text" ? new TextPart() : new ThinkingPart();
        restored.append(part.text);
        this.#add(restored);
      }
    }
    this.#started = Boolean(started);
    const unfinished = OPEN_STATES.has(state) || state === AnswerState.INTERRUPTED;
    if (unfinished) this.interrupt();
    else if (KNOWN_STATES.has(state)) this.#set(state, note?.label, note?.message, note?.detail);
    else this.finish();
    return unfinished;
  }

  /**
   * The last part when it is a `Kind`, else a new one from `create` (reasoning after a tool
   * call starts a new Thinking section, text after it a new paragraph run).
   * @template {TextPart | ThinkingPart} T
   * @param {new () => T} Kind
   * @param {() => T} create
   * @returns {T}
   */
  #last(Kind, create) {
    const last = this.#content.at(-1);
    if (last instanceof Kind) return last;
    const part = create();
    this.#add(part);
    return part;
  }

  /** @param {TextPart | ThinkingPart | ToolCard} part */
  #add(part) {
    // Whatever came before a new part is finished: its thinking folds away.
    for (const earlier of this.#content) if (earlier instanceof ThinkingPart) earlier.close();
    this.#content.push(part);
    this.#parts.append(part.element);
  }

  /** @param {string} id */
  #tool(id) {
    return this.#content.find((part) => part instanceof ToolCard && part.id === id);
  }

  /** @param {() => void} change  a change to the parts, which means the answer is under way */
  #grow(change) {
    this.#started = true;
    this.#keepAtBottom(() => {
      change();
      this.#set(AnswerState.STREAMING);
    });
  }

  /**
   * @param {string} state
   * @param {string} [label]
   * @param {string} [message]
   * @param {string} [detail]
   */
  #set(state, label, message, detail) {
    this.#keepAtBottom(() => {
      this.#state = state;
      if (!OPEN_STATES.has(state)) {
        for (const part of this.#content) {
          if (part instanceof TextPart) part.flush();
          if (part instanceof ThinkingPart) part.close();
        }
      }
      this.#noteContent =
        label === undefined ? null : { label, message: message ?? "", detail: detail ?? "" };
      if (label === undefined) {
        this.#note.replaceChildren();
        this.#note.hidden = true;
      } else {
        const strong = element("strong", "note-label");
        strong.textContent = `${label}:`;
        const text = element("span", "note-text");
        text.textContent = message ?? "";
        this.#note.replaceChildren(strong, " ", text);
        if (detail) {
          const small = element("small", "note-detail");
          small.textContent = detail;
          this.#note.append(" ", small);
        }
        this.#note.hidden = false;
      }
      this.#render();
    });
  }

  #render() {
    const open = this.isOpen;
    const hasParts = this.#content.length > 0;
    this.element.dataset.state = this.#state;
    this.element.setAttribute("aria-busy", String(open));
    this.#parts.hidden = !hasParts;
    this.#typing.hidden = !(open && !hasParts);
  }
}

/** @param {string} text */
function textBlock(text) {
  const block = element("div", "msg-text");
  block.textContent = text;
  return block;
}
