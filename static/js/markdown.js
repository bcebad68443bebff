// Answers are Markdown: marked turns them into HTML, DOMPurify (not our own code) sanitises it.
//
// Raw HTML in an answer is shown as text, as the page always did: a model that writes
// `<img onerror=…>` gets its text on screen, not an element. Images become links, so an answer
// cannot make the page load a foreign URL (the page's CSP would refuse it, and tracking pixels
// are not ours to fetch). Links open in a new tab without an opener.

import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.es.mjs";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** @param {string} text */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[/** @type {keyof ESCAPES} */ (character)]);
}

const marked = new Marked({
  gfm: true,
  breaks: true, // a line break in an answer stays a line break, as it did before Markdown
  renderer: {
    /** @param {{ text: string }} token */
    html({ text }) {
      return escapeHtml(text);
    },
    /** @param {{ href: string, text: string }} token */
    image({ href, text }) {
      return `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`;
    },
  },
});

const purifier = DOMPurify(window);
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

const SANITIZE = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select"],
  FORBID_ATTR: ["style"],
};

/**
 * `source` as sanitised HTML, ready to insert.
 * @param {string} source  Markdown, possibly cut off mid-way (a streaming answer)
 * @returns {DocumentFragment}
 */
export function renderMarkdown(source) {
  const html = /** @type {string} */ (marked.parse(source, { async: false }));
  return /** @type {DocumentFragment} */ (
    /** @type {unknown} */ (purifier.sanitize(html, SANITIZE))
  );
}
