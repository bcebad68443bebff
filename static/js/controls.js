// The controls around the conversation: status, composer, send/stop, reconnect, clear.

import { Status } from "./stream.js";

const MAX_INPUT_HEIGHT_PX = 200;

/**
 * @typedef {object} ControlActions
 * @property {(question: string) => void} send
 * @property {() => void} stop
 * @property {() => void} reconnect
 * @property {() => void} clear
 */

export class Controls {
  /** @type {HTMLTextAreaElement} */ #input;
  /** @type {HTMLButtonElement} */ #send;
  /** @type {HTMLButtonElement} */ #stop;
  /** @type {HTMLElement} */ #status;
  /** @type {HTMLElement} */ #statusText;
  #connected = false;
  #busy = false;
  #stopping = false;

  /**
   * @param {ParentNode} root
   * @param {ControlActions} actions
   */
  constructor(root, actions) {
    this.#input = /** @type {HTMLTextAreaElement} */ (byTestId(root, "question"));
    this.#send = /** @type {HTMLButtonElement} */ (byTestId(root, "send"));
    this.#stop = /** @type {HTMLButtonElement} */ (byTestId(root, "stop"));
    this.#status = byTestId(root, "status");
    this.#statusText = /** @type {HTMLElement} */ (this.#status.querySelector(".status-text"));
    const form = /** @type {HTMLFormElement} */ (this.#input.form);

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit(actions);
    });
    this.#input.addEventListener("keydown", (event) => {
      // isComposing: Enter that confirms an IME candidate (Chinese, Japanese…) must not send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit(actions);
      } else if (event.key === "Escape" && this.#busy) {
        event.preventDefault();
        actions.stop();
      }
    });
    this.#input.addEventListener("input", () => {
      this.#fitInput();
      this.#update();
    });
    this.#stop.addEventListener("click", () => actions.stop());
    byTestId(root, "reconnect").addEventListener("click", () => actions.reconnect());
    byTestId(root, "clear").addEventListener("click", () => actions.clear());
    this.#update();
  }

  /**
   * @param {string} status  one of Status
   * @param {number} attempt
   */
  showStatus(status, attempt) {
    this.#connected = status === Status.CONNECTED;
    this.#status.dataset.state = status;
    this.#statusText.textContent = describeStatus(status, attempt);
    this.#update();
  }

  /** @param {boolean} busy  an answer of this stream is pending or streaming */
  setBusy(busy) {
    if (busy === this.#busy) return;
    this.#busy = busy;
    this.#stopping = false;
    this.#update();
  }

  /** @param {boolean} stopping  a cancel request is on its way */
  setStopping(stopping) {
    this.#stopping = stopping;
    this.#update();
  }

  /**
   * Put a question back (its request failed) unless the user already typed a new one.
   * @param {string} question
   */
  restoreQuestion(question) {
    if (this.#input.value.trim() !== "") return;
    this.#input.value = question;
    this.#fitInput();
    this.#update();
  }

  focusInput() {
    this.#input.focus();
  }

  /** @param {ControlActions} actions */
  #submit(actions) {
    const question = this.#input.value.trim();
    if (!this.#canSend(question)) return;
    this.#input.value = "";
    this.#fitInput();
    actions.send(question);
  }

  /** @param {string} question */
  #canSend(question) {
    return this.#connected && !this.#busy && question !== "";
  }

  #update() {
    const hadFocus = document.activeElement;
    this.#send.hidden = this.#busy;
    this.#stop.hidden = !this.#busy;
    this.#send.disabled = !this.#canSend(this.#input.value.trim());
    this.#stop.disabled = this.#stopping;
    // Keep keyboard users on the button that replaced the one they were on.
    if (hadFocus === this.#send && this.#busy) this.#stop.focus();
    if (hadFocus === this.#stop && !this.#busy) this.#input.focus();
  }

  #fitInput() {
    const input = this.#input;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, MAX_INPUT_HEIGHT_PX)}px`;
  }
}

/**
 * @param {string} status
 * @param {number} attempt
 */
export function describeStatus(status, attempt) {
  switch (status) {
    case Status.CONNECTED:
      return "Connected";
    case Status.CONNECTING:
      return "Connecting…";
    case Status.RECONNECTING:
      return `Reconnecting (attempt ${attempt})…`;
    default:
      return "Disconnected";
  }
}

/**
 * @param {ParentNode} root
 * @param {string} testId
 * @returns {HTMLElement}
 */
function byTestId(root, testId) {
  const node = root.querySelector(`[data-testid="${testId}"]`);
  if (!(node instanceof HTMLElement)) throw new Error(`missing [data-testid="${testId}"]`);
  return node;
}
