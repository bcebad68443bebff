// Entry point: builds the page's parts and wires them together.

import { QaApi } from "./api.js";
import { Controls } from "./controls.js";
import { Conversation } from "./conversation.js";
import { resolveUserId, sessionStore } from "./identity.js";
import { AnswerSocket } from "./socket.js";
import { AnswerStream, Status } from "./stream.js";
import { Transcript } from "./transcript.js";
import { ConversationView } from "./view.js";
import { WirePanel } from "./wire.js";

const storage = sessionStore();
const requested = resolveUserId(new URLSearchParams(location.search), storage);
const api = await QaApi.open(requested.userId, storage); // token mode: the server's id
const { userId } = api;
const { rejected } = requested;
const transcript = new Transcript(storage, userId);

const messages = /** @type {HTMLElement} */ (document.querySelector('[data-testid="messages"]'));
const scroller = /** @type {HTMLElement} */ (document.getElementById("conversation"));
const view = new ConversationView(messages, scroller);
const wire = new WirePanel(
  /** @type {HTMLElement} */ (document.querySelector('[data-testid="wire"]')),
  /** @type {HTMLButtonElement} */ (document.querySelector('[data-testid="wire-toggle"]')),
);

/** @type {Conversation} */
let conversation;
/** @type {AnswerStream | AnswerSocket} */
let stream;
// ?transport=ws: one WebSocket carries the stream, the asks and the cancels.
const overSocket = new URLSearchParams(location.search).get("transport") === "ws";

const controls = new Controls(document, {
  send: (question) => {
    wire.questionSent();
    void conversation.ask(question);
  },
  stop: () => void conversation.stop(),
  reconnect: () => stream.reconnect(),
  clear: () => conversation.clear(),
});
const saved = transcript.load();
/** @type {ConstructorParameters<typeof AnswerStream>[1]} */
const streamOptions = {
  lastEventId: saved.lastEventId,
  onEvent: (name, data, id) => {
    wire.add(name, id, data);
    conversation.receive(name, data);
  },
  onStatus: (status, attempt) => {
    if (status === Status.CONNECTING) wire.streamOpened();
    controls.showStatus(status, attempt);
    conversation.statusChanged(status);
  },
};
const socket = overSocket
  ? new AnswerSocket((lastEventId) => api.socketUrl(lastEventId), streamOptions)
  : null;
stream = socket ?? new AnswerStream((lastEventId) => api.streamUrl(lastEventId), streamOptions);
conversation = new Conversation(view, controls, socket ?? api);
conversation.resume(view.restore(saved.entries));

const link = /** @type {HTMLAnchorElement} */ (document.querySelector('[data-testid="user-id"]'));
link.href = `?user=${encodeURIComponent(userId)}`;
link.textContent = userId;
if (rejected !== null) {
  view.addNotice(`Ignored ?user=${rejected}: ids are 1–64 letters, digits, “_” or “-”.`, "error");
}

// Keep the conversation for a reload. pagehide covers reloads and navigation;
// visibilitychange covers mobile browsers that discard hidden tabs without a pagehide.
const saveTranscript = () =>
  transcript.save({ entries: view.snapshot(), lastEventId: stream.lastEventId });
window.addEventListener("pagehide", saveTranscript);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") saveTranscript();
});

// Back online after the browser gave up: no need to wait for the next backoff step.
window.addEventListener("online", () => {
  if (stream.status !== Status.CONNECTED) stream.reconnect();
});

stream.open();
controls.focusInput();
