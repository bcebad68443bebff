// Every HTTP call the page makes, in one place.
//
// Token mode (POST /qa/session → {user_id, token}; `?token=` on connect and
// `Authorization: Bearer` on ask/cancel) only needs changes here: keep the token on the
// client, add it in streamUrl() and #headers().

/**
 * @typedef {{ ok: true, status: number, data: Record<string, unknown> }} ApiSuccess
 * @typedef {{ ok: false, status: number, code: string, message: string }} ApiFailure
 * @typedef {ApiSuccess | ApiFailure} ApiResult
 */

export class QaApi {
  /** @type {string} */ #userId;
  /** @type {string} */ #base;

  /**
   * @param {string} userId  already validated against USER_ID_PATTERN
   * @param {{ base?: string }} [options]  origin prefix, "" for same-origin
   */
  constructor(userId, { base = "" } = {}) {
    this.#userId = userId;
    this.#base = base;
  }

  get userId() {
    return this.#userId;
  }

  /** URL of this user's Server-Sent Events stream. */
  streamUrl() {
    return this.#url("connect");
  }

  /**
   * Submit a question; the answer arrives on the stream.
   * @param {string} question
   * @returns {Promise<ApiResult>}
   */
  ask(question) {
    return this.#post(this.#url("ask"), JSON.stringify({ question }));
  }

  /**
   * Stop the running answer and drop queued ones.
   * @returns {Promise<ApiResult>}
   */
  cancel() {
    return this.#post(this.#url("cancel"), null);
  }

  /** @param {"connect" | "ask" | "cancel"} action */
  #url(action) {
    return `${this.#base}/qa/${action}/${encodeURIComponent(this.#userId)}`;
  }

  /** @param {boolean} withBody */
  #headers(withBody) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (withBody) headers["Content-Type"] = "application/json";
    return headers;
  }

  /**
   * @param {string} url
   * @param {string | null} body
   * @returns {Promise<ApiResult>}
   */
  async #post(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: this.#headers(body !== null),
        body,
        cache: "no-store",
      });
    } catch (error) {
      return { ok: false, status: 0, code: "network_error", message: String(error) };
    }
    const data = await readJson(response);
    if (response.ok) return { ok: true, status: response.status, data: data ?? {} };
    return {
      ok: false,
      status: response.status,
      code: typeof data?.error === "string" ? data.error : `http_${response.status}`,
      message: typeof data?.message === "string" ? data.message : response.statusText,
    };
  }
}

/**
 * The body as a JSON object, or null when it is not one (a proxy's HTML error page, say).
 * @param {Response} response
 * @returns {Promise<Record<string, unknown> | null>}
 */
async function readJson(response) {
  try {
    const data = await response.json();
    return data !== null && typeof data === "object" ? data : null;
  } catch {
    return null;
  }
}
