// Which stream this tab listens to: `?user=<id>`, else the id this tab already used
// (sessionStorage survives a reload, not a new tab), else a fresh random one.

export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const STORAGE_KEY = "quart-qa.user-id";

/**
 * @param {URLSearchParams} params
 * @param {Storage | null} storage
 * @returns {{ userId: string, rejected: string | null }}  rejected: an invalid ?user= value
 */
export function resolveUserId(params, storage) {
  const requested = params.get("user");
  const rejected = requested !== null && !USER_ID_PATTERN.test(requested) ? requested : null;
  const stored = read(storage);
  let userId;
  if (requested !== null && rejected === null) userId = requested;
  else if (stored !== null && USER_ID_PATTERN.test(stored)) userId = stored;
  else userId = randomUserId();
  write(storage, userId);
  return { userId, rejected };
}

/** `user_` and nine random base-36 characters, like the seed page's ids. */
export function randomUserId() {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return "user_" + Array.from(bytes, (byte) => (byte % 36).toString(36)).join("");
}

/** The session store, or null where the browser refuses it (some privacy modes). */
export function sessionStore() {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** @param {Storage | null} storage */
function read(storage) {
  try {
    return storage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

/** @param {Storage | null} storage @param {string} value */
function write(storage, value) {
  try {
    storage?.setItem(STORAGE_KEY, value);
  } catch {
    // Storage full or blocked: the id then lasts until the tab is reloaded.
  }
}
