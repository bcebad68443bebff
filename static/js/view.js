// The conversation: question bubbles, answer bubbles that grow, and notices.
// Every text from the user or the server goes in through textContent, never as HTML.

/** Lifecycle of one answer bubble (also its data-state attribute, for CSS and tests). */
export const AnswerState = Object.freeze({
  PENDING: "pending", // question sent, ANSWER_START not seen yet
  STREAMING: "streaming", // between ANSWER_START and the end
  DONE: "done", // ANSWER_END
  ERROR: "error", // ERROR event
  CANCELLED: "cancelled", // ANSWER_CANCELLED (or dropped from the queue)
  INTERRUPTED: "interrupted", // the stream dropped mid-answer
  REJECTED: "rejected", // the ask request itself failed
});

const OPEN_STATES = new Set([AnswerState.PENDING, AnswerState.STREAMING]);
const NEAR_BOTTOM_PX = 64;

export class ConversationView {
  /** @type {HTMLElement} */ #list;
  /** @type {HTMLElement} */ #scroller;

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
  /** @type {HTMLElement} */ #text;
  /** @type {HTMLElement} */ #typing;
  /** @type {HTMLElement} */ #note;
  /** @type {(change: () => void) => void} */ #keepAtBottom;
  #state = AnswerState.PENDING;

  /** @param {(change: () => void) => void} keepAtBottom */
  constructor(keepAtBottom) {
    this.#keepAtBottom = keepAtBottom;
    this.element = element("div", "msg msg-answer", "answer");
    this.#text = element("div", "msg-text", "answer-text");
    this.#typing = element("span", "typing", "typing");
    this.#typing.setAttribute("role", "img");
    this.#typing.setAttribute("aria-label", "The answer is being written");
    this.#typing.append(element("span"), element("span"), element("span"));
    this.#note = element("p", "msg-note", "answer-note");
    this.#note.hidden = true;
    this.element.append(this.#text, this.#typing, this.#note);
    this.#render();
  }

  get state() {
    return this.#state;
  }

  /** Still waiting for text or its end. */
  get isOpen() {
    return OPEN_STATES.has(this.#state);
  }

  get text() {
    return this.#text.textContent ?? "";
  }

  /** ANSWER_START arrived. */
  start() {
    this.#set(AnswerState.STREAMING);
  }

  /** @param {string} chunk  one ANSWER_CHUNK, newlines and all */
  append(chunk) {
    this.#keepAtBottom(() => {
      this.#text.textContent += chunk;
      this.#set(AnswerState.STREAMING);
    });
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

  interrupt() {
    this.#set(
      AnswerState.INTERRUPTED,
      "Connection lost",
      "the answer may be incomplete; it continues here if the server still sends it.",
    );
  }

  /**
   * The ask request failed, so no answer will come.
   * @param {string} summary  what happened, for people
   * @param {string} detail  status and error code, for whoever debugs it
   */
  reject(summary, detail) {
    this.#set(AnswerState.REJECTED, "Not sent", summary, detail);
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
    const hasText = this.#text.textContent !== "";
    this.element.dataset.state = this.#state;
    this.element.setAttribute("aria-busy", String(open));
    this.#text.hidden = !hasText;
    this.#typing.hidden = !(open && !hasText);
  }
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [testId]
 * @returns {HTMLElement}
 */
function element(tag, className, testId) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (testId) node.dataset.testid = testId;
  return node;
}

/** @param {string} text */
function textBlock(text) {
  const block = element("div", "msg-text");
  block.textContent = text;
  return block;
}
