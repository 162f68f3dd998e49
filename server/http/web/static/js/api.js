// api.js: calls to the app's JSON endpoints (/orchestra/api/interface/, spec section 5).
//
// Every state-changing call carries the csrftoken cookie in X-CSRFToken (Django's scheme).
// The server answers an anonymous or expired session with a 302 to the sign-in page; fetch
// follows it, so a response that ended on the sign-in page sends the browser there, with
// ?next= this page. Errors become ApiError with the server's message verbatim.

export const API = "/orchestra/api/interface/";
const LOGIN = "/orchestra/accounts/login/";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

export function toSignIn() {
  const next = location.pathname + location.search;
  // As the server writes it: slashes stay, everything else that needs it is escaped.
  location.assign(LOGIN + "?next=" + encodeURIComponent(next).replace(/%2F/g, "/"));
}

// messageOf picks the human-readable text of an error body: upstream's {"error","message"},
// DRF's {"detail"}, or field errors {"field":["..."]}.
function messageOf(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.message === "string") return body.message;
    if (typeof body.detail === "string") return body.detail;
    const parts = [];
    for (const [k, v] of Object.entries(body)) parts.push(`${k}: ${[].concat(v).join(" ")}`);
    if (parts.length) return parts.join("; ");
  }
  return `The server answered ${status}.`;
}

// call sends one request; path is relative to API unless it starts with "/".
export async function call(path, { method = "GET", body, changes = method !== "GET" } = {}) {
  const headers = { Accept: "application/json" };
  if (changes) headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path.startsWith("/") ? path : API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (e) {
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.");
  }
  if (res.redirected && new URL(res.url).pathname.startsWith(LOGIN)) {
    toSignIn();
    throw new ApiError(401, "Your session has ended. Please sign in again.");
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, data), data);
  return data;
}

export const get = (path) => call(path);
export const post = (path, body) => call(path, { method: "POST", body: body ?? {} });
