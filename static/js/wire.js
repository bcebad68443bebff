// The Wire panel: every SSE frame of the page's stream as it arrives, for people learning the
// protocol. Each row shows the frame as it was sent (event, id, data lines) and the time since
// the question this tab last asked (before any question: since the stream opened).
//
// EventSource hands the page each event's name, id and data, not the bytes: comment lines
// (`: heartbeat`) and `retry:` never reach a page, so the panel shows the fields it gets.

const MAX_FRAMES = 500;

export class WirePanel {
  /** @type {HTMLElement} */ #panel;
  /** @type {HTMLElement} */ #list;
  /** @type {HTMLButtonElement} */ #toggle;
  #since = performance.now();
  #sinceQuestion = false;

  /**
   * @param {HTMLElement} panel  the panel ([data-testid="wire"]), hidden until toggled
   * @param {HTMLButtonElement} toggle  the toolbar button that shows and hides it
   */
  constructor(panel, toggle) {
    this.#panel = panel;
    this.#toggle = toggle;
    this.#list = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="wire-frames"]'));
    toggle.addEventListener("click", () => this.show(this.#panel.hidden));
    panel
      .querySelector('[data-testid="wire-clear"]')
      ?.addEventListener("click", () => this.#list.replaceChildren());
  }

  /** @param {boolean} visible */
  show(visible) {
    this.#panel.hidden = !visible;
    this.#toggle.setAttribute("aria-expanded", String(visible));
    if (visible) this.#list.lastElementChild?.scrollIntoView({ block: "end" });
  }

  /** The stream (re)opened: times count from here until the next question. */
  streamOpened() {
    if (this.#sinceQuestion) return;
    this.#since = performance.now();
  }

  /** A question was sent: times count from now. */
  questionSent() {
    this.#since = performance.now();
    this.#sinceQuestion = true;
  }

  /**
   * One frame as EventSource delivered it.
   * @param {string} event
   * @param {string} id  "" when the frame carried no id
   * @param {string} data
   */
  add(event, id, data) {
    const seconds = (performance.now() - this.#since) / 1000;
    const row = document.createElement("li");
    row.className = "wire-frame";
    row.dataset.testid = "wire-frame";
    row.dataset.event = event;
    const time = document.createElement("span");
    time.className = "wire-time";
    time.dataset.testid = "wire-time";
    time.textContent = `+${seconds.toFixed(3)} s`;
    const frame = document.createElement("pre");
    frame.className = "wire-text";
    frame.dataset.testid = "wire-text";
    const lines = [`event: ${event}`];
    if (id) lines.push(`id: ${id}`);
    for (const line of data.split("\n")) lines.push(`data: ${line}`);
    frame.textContent = lines.join("\n");
    row.append(time, frame);
    const list = this.#list;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 32;
    list.append(row);
    while (list.childElementCount > MAX_FRAMES) list.firstElementChild?.remove();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
}
