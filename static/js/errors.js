// Readable sentences for the API's error codes (docs/protocol.md, "Errors").

/** @type {Record<string, string>} */
const SENTENCES = {
  network_error: "Could not reach the server. Check that it is running, then send again.",
  not_connected: "The answer stream is not connected. Wait for “Connected” or press Reconnect, then send again.",
  busy: "The previous answer is still running. Wait for it or stop it, then send again.",
  question_too_long: "The question is too long. Shorten it and send again.",
  too_many_pending: "Too many questions are waiting. Wait for the answers, then send again.",
  invalid_question: "The question is empty.",
  invalid_user_id: "This page's user id is not valid. Reload without ?user= to get a new one.",
  nothing_running: "There was no running answer to stop.",
};

/**
 * @param {{ status: number, code: string, message: string }} failure
 * @returns {{ summary: string, detail: string }}  summary for people, detail for debugging
 */
export function describeFailure({ status, code, message }) {
  const summary = SENTENCES[code] ?? (message || "The server refused the request.");
  const where = status === 0 ? code : `${status} ${code}`;
  const detail = message && message !== summary ? `(${where}: ${message})` : `(${where})`;
  return { summary, detail };
}
