// The parts of one answer, in the order they arrive: a "Thinking" section, tool cards and the
// answer text (Markdown). Text from the server goes in through textContent, or through the
// Markdown renderer, which sanitises; never as raw HTML.

import { renderMarkdown } from "./markdown.js";

/**
 * What a reload needs to show a part again (see transcript.js).
 * @typedef {{ kind: "text", text: string }
 *   | { kind: "thinking", text: string }
 *   | { kind: "tool", id: string, name: string, args: string, result: string | null,
 *       state: string }} PartSnapshot
 */

/** Lifecycle of a tool card (also its data-state attribute). */
export const ToolState = Object.freeze({
  INPUT_STREAMING: "input-streaming", // TOOL_CALL_START seen, arguments arriving
  INPUT_AVAILABLE: "input-available", // TOOL_CALL_END: the arguments are complete
  OUTPUT_AVAILABLE: "output-available", // TOOL_RESULT arrived
});
const TOOL_STATES = new Set(Object.values(ToolState));

export class TextPart {
  kind = "text";
  /** @type {HTMLElement} */ element;
  #source = "";
  #frame = 0;

  constructor() {
    this.element = element("div", "msg-text markdown", "answer-text");
  }

  get text() {
    return this.#source;
  }

  /** @param {string} chunk */
  append(chunk) {
    this.#source += chunk;
    // One render per animation frame, however many chunks arrive in it.
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.flush());
  }

  /** Render now (the answer ended, or a snapshot is being taken or restored). */
  flush() {
    cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.element.replaceChildren(renderMarkdown(this.#source));
  }

  /** @returns {PartSnapshot} */
  snapshot() {
    return { kind: "text", text: this.#source };
  }
}

export class ThinkingPart {
  kind = "thinking";
  /** @type {HTMLDetailsElement} */ element;
  /** @type {HTMLElement} */ #label;
  /** @type {HTMLElement} */ #text;

  constructor() {
    this.element = /** @type {HTMLDetailsElement} */ (element("details", "thinking", "thinking"));
    this.element.open = true;
    const summary = element("summary", "thinking-summary");
    this.#label = element("span", "thinking-label", "thinking-label");
    this.#label.textContent = "Thinking…";
    summary.append(this.#label);
    this.#text = element("div", "thinking-text", "thinking-text");
    this.element.append(summary, this.#text);
  }

  get text() {
    return this.#text.textContent ?? "";
  }

  /** @param {string} chunk */
  append(chunk) {
    this.#text.textContent += chunk;
  }

  /** The reasoning is over (the answer moved on): fold it away, it stays one click off. */
  close() {
    if (this.element.dataset.state === "done") return;
    this.element.dataset.state = "done";
    this.#label.textContent = "Thinking";
    this.element.open = false;
  }

  /** @returns {PartSnapshot} */
  snapshot() {
    return { kind: "thinking", text: this.text };
  }
}

export class ToolCard {
  kind = "tool";
  /** @type {HTMLElement} */ element;
  /** @type {HTMLElement} */ #args;
  /** @type {HTMLElement} */ #result;
  /** @type {HTMLElement} */ #name;
  id;
  #state = ToolState.INPUT_STREAMING;
  /** @type {string | null} */ #resultText = null;

  /**
   * @param {string} id
   * @param {string} name
   */
  constructor(id, name) {
    this.id = id;
    this.element = element("div", "tool-card", "tool-card");
    const header = element("div", "tool-header");
    const label = element("span", "tool-label");
    label.textContent = "Tool call";
    this.#name = element("code", "tool-name", "tool-name");
    this.#name.textContent = name;
    header.append(label, this.#name);
    this.#args = element("pre", "tool-args", "tool-args");
    this.#result = element("pre", "tool-result", "tool-result");
    this.#result.hidden = true;
    this.element.append(header, this.#args, this.#result);
    this.#render();
  }

  get name() {
    return this.#name.textContent ?? "";
  }

  /** @param {string} delta  a fragment of the arguments' JSON text */
  appendArgs(delta) {
    this.#args.textContent += delta;
  }

  /** @param {unknown} args  the complete arguments, shown pretty-printed */
  setInput(args) {
    this.#args.textContent = pretty(args);
    this.#state = ToolState.INPUT_AVAILABLE;
    this.#render();
  }

  /** @param {unknown} output */
  setResult(output) {
    this.#resultText = pretty(output);
    this.#result.textContent = this.#resultText;
    this.#state = ToolState.OUTPUT_AVAILABLE;
    this.#render();
  }

  /** @returns {PartSnapshot} */
  snapshot() {
    return {
      kind: "tool",
      id: this.id,
      name: this.name,
      args: this.#args.textContent ?? "",
      result: this.#resultText,
      state: this.#state,
    };
  }

  /** @param {{ args: string, result: string | null, state: string }} snapshot */
  restore({ args, result, state }) {
    this.#args.textContent = args;
    this.#resultText = result;
    this.#result.textContent = result ?? "";
    this.#state = TOOL_STATES.has(state) ? state : ToolState.INPUT_AVAILABLE;
    this.#render();
  }

  #render() {
    this.element.dataset.state = this.#state;
    this.#result.hidden = this.#resultText === null;
  }
}

/**
 * @param {unknown} value
 * @returns {value is PartSnapshot}
 */
export function isPartSnapshot(value) {
  if (value === null || typeof value !== "object") return false;
  const part = /** @type {Record<string, unknown>} */ (value);
  if (part.kind === "text" || part.kind === "thinking") return typeof part.text === "string";
  return (
    part.kind === "tool" &&
    ["id", "name", "args", "state"].every((key) => typeof part[key] === "string") &&
    (part.result === null || typeof part.result === "string")
  );
}

/** @param {unknown} value */
function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [testId]
 * @returns {HTMLElement}
 */
export function element(tag, className, testId) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (testId) node.dataset.testid = testId;
  return node;
}
