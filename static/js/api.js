// Every HTTP call the page makes, in one place.
//
// Token mode (docs/security.md): QaApi.open() asks POST /qa/session; when the server answers
// with a token, the server's user id is used, {user_id, token} is kept in sessionStorage for
// reloads, the token goes out as `?token=` on connect (EventSource sends no headers) and
// `Authorization: Bearer` on ask/cancel, and it is renewed halfway through its lifetime.
// Without a token (auth.mode = "none") the page keeps the id it resolved itself.

const SESSION_KEY = "quart-qa.session";
const MIN_RENEW_DELAY_MS = 5000;

/**
 * @typedef {{ ok: true, status: number, data: Record<string, unknown> }} ApiSuccess
 * @typedef {{ ok: false, status: number, code: string, message: string }} ApiFailure
 * @typedef {ApiSuccess | ApiFailure} ApiResult
 */

export class QaApi {
  /** @type {string} */ #userId;
  /** @type {string} */ #base;
  /** @type {string | null} */ #token = null;
  /** @type {Storage | null} */ #storage = null;
  /** @type {number | undefined} */ #renewTimer = undefined;

  /**
   * @param {string} userId  already validated against USER_ID_PATTERN
   * @param {{ base?: string }} [options]  origin prefix, "" for same-origin
   */
  constructor(userId, { base = "" } = {}) {
    this.#userId = userId;
    this.#base = base;
  }

  /**
   * The API for this tab: the server's user id and token in token mode, else `userId`.
   * A stored token is renewed (same id); an expired one gets a fresh session.
   * @param {string} userId  the id to use when the server hands out no token
   * @param {Storage | null} storage
   * @param {{ base?: string }} [options]
   * @returns {Promise<QaApi>}
   */
  static async open(userId, storage, { base = "" } = {}) {
    const held = readSession(storage);
    let session = held ? await requestSession(base, held.token) : null;
    if (session === null) session = await requestSession(base, null);
    if (session === null || session.token === null) return new QaApi(userId, { base });
    const api = new QaApi(session.user_id, { base });
    api.#storage = storage;
    api.#useToken(session.token, session.expires_in);
    return api;
  }

  get userId() {
    return this.#userId;
  }

  /**
   * URL of this user's Server-Sent Events stream.
   * @param {string | null} [lastEventId]  resume right after this event
   */
  streamUrl(lastEventId = null) {
    return withStreamParams(this.#url("connect"), this.#token, lastEventId);
  }

  /**
   * URL of this user's WebSocket (`?transport=ws`): the same stream, asks and cancels.
   * @param {string | null} [lastEventId]  resume right after this event
   */
  socketUrl(lastEventId = null) {
    const url = new URL(this.#url("ws"), location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return withStreamParams(url.href, this.#token, lastEventId);
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

  /** @param {"connect" | "ws" | "ask" | "cancel"} action */
  #url(action) {
    return `${this.#base}/qa/${action}/${encodeURIComponent(this.#userId)}`;
  }

  /** @param {boolean} withBody */
  #headers(withBody) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (withBody) headers["Content-Type"] = "application/json";
    if (this.#token !== null) headers.Authorization = `Bearer ${this.#token}`;
    return headers;
  }

  /**
   * @param {string} token
   * @param {number | null} expiresIn  seconds
   */
  #useToken(token, expiresIn) {
    this.#token = token;
    writeSession(this.#storage, { user_id: this.#userId, token });
    window.clearTimeout(this.#renewTimer);
    if (expiresIn === null) return;
    const delay = Math.max(MIN_RENEW_DELAY_MS, (expiresIn * 1000) / 2);
    this.#renewTimer = window.setTimeout(() => void this.#renew(), delay);
  }

  /** A fresh token for the same user before the current one expires. */
  async #renew() {
    const session = await requestSession(this.#base, this.#token);
    if (session?.token && session.user_id === this.#userId) {
      this.#useToken(session.token, session.expires_in);
    } else {
      // Offline or refused: try again later; connect keeps working until the token expires.
      this.#renewTimer = window.setTimeout(() => void this.#renew(), MIN_RENEW_DELAY_MS);
    }
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
 * `url` with the token (neither EventSource nor WebSocket can send headers) and the event to
 * resume after (a new EventSource sends no Last-Event-ID header; only its own reconnects do).
 * @param {string} url
 * @param {string | null} token
 * @param {string | null} lastEventId
 */
function withStreamParams(url, token, lastEventId) {
  const params = new URLSearchParams();
  if (token !== null) params.set("token", token);
  if (lastEventId) params.set("last_event_id", lastEventId);
  return params.size > 0 ? `${url}?${params}` : url;
}

/**
 * @typedef {{ user_id: string, token: string | null, expires_in: number | null }} Session
 */

/**
 * POST /qa/session, renewing `token` when given; null when that fails for any reason
 * (offline, an old server without the endpoint, an expired token).
 * @param {string} base
 * @param {string | null} token
 * @returns {Promise<Session | null>}
 */
async function requestSession(base, token) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  try {
    const response = await fetch(`${base}/qa/session`, {
      method: "POST",
      headers,
      cache: "no-store",
    });
    const data = response.ok ? await readJson(response) : null;
    if (data === null || typeof data.user_id !== "string") return null;
    return {
      user_id: data.user_id,
      token: typeof data.token === "string" ? data.token : null,
      expires_in: typeof data.expires_in === "number" ? data.expires_in : null,
    };
  } catch {
    return null;
  }
}

/**
 * @param {Storage | null} storage
 * @returns {{ user_id: string, token: string } | null}
 */
function readSession(storage) {
  try {
    const data = JSON.parse(storage?.getItem(SESSION_KEY) ?? "null");
    if (typeof data?.user_id === "string" && typeof data?.token === "string") return data;
  } catch {
    // Blocked storage or a mangled value: start a new session.
  }
  return null;
}

/**
 * @param {Storage | null} storage
 * @param {{ user_id: string, token: string }} session
 */
function writeSession(storage, session) {
  try {
    storage?.setItem(SESSION_KEY, JSON.stringify(session));
  } catch {
    // Storage full or blocked: the session then lasts until the tab is reloaded.
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
