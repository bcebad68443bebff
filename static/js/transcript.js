// The conversation kept in sessionStorage, so a reload shows it again (one per stream),
// together with the id of the last event it shows: the reloaded page resumes the stream
// right after it, so nothing is missed and nothing shown twice.

import { isPartSnapshot } from "./parts.js";

/**
 * @typedef {import("./view.js").Entry} Entry
 * @typedef {{ entries: Entry[], lastEventId: string | null }} Saved
 */

const KEY_PREFIX = "quart-qa.transcript.";
const MAX_ENTRIES = 300;

export class Transcript {
  /** @type {Storage | null} */ #storage;
  /** @type {string} */ #key;

  /**
   * @param {Storage | null} storage
   * @param {string} userId
   */
  constructor(storage, userId) {
    this.#storage = storage;
    this.#key = KEY_PREFIX + userId;
  }

  /** @returns {Saved}  empty when nothing (valid) was stored */
  load() {
    try {
      const saved = JSON.parse(this.#storage?.getItem(this.#key) ?? "null");
      if (saved === null || typeof saved !== "object" || !Array.isArray(saved.entries)) {
        return { entries: [], lastEventId: null };
      }
      const lastEventId = typeof saved.lastEventId === "string" ? saved.lastEventId : null;
      return { entries: saved.entries.filter(isEntry), lastEventId };
    } catch {
      return { entries: [], lastEventId: null };
    }
  }

  /** @param {Saved} saved */
  save({ entries, lastEventId }) {
    try {
      const trimmed = entries.slice(-MAX_ENTRIES);
      this.#storage?.setItem(this.#key, JSON.stringify({ entries: trimmed, lastEventId }));
    } catch {
      // Over quota: better no transcript than a stale one.
      this.#storage?.removeItem(this.#key);
    }
  }
}

/**
 * @param {unknown} value
 * @returns {value is Entry}
 */
function isEntry(value) {
  if (value === null || typeof value !== "object") return false;
  const entry = /** @type {Record<string, unknown>} */ (value);
  if (typeof entry.text !== "string") return false;
  switch (entry.kind) {
    case "question":
      return true;
    case "notice":
      return entry.level === "info" || entry.level === "error";
    case "answer":
      return (
        typeof entry.state === "string" &&
        (entry.started === undefined || typeof entry.started === "boolean") &&
        (entry.note === null || isNote(entry.note)) &&
        (entry.parts === undefined ||
          (Array.isArray(entry.parts) && entry.parts.every(isPartSnapshot)))
      );
    default:
      return false;
  }
}

/** @param {unknown} value */
function isNote(value) {
  if (value === null || typeof value !== "object") return false;
  const note = /** @type {Record<string, unknown>} */ (value);
  return ["label", "message", "detail"].every((key) => typeof note[key] === "string");
}
