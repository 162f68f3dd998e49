// live.js: tells a page when the signed-in worker's tasks change, so that it reloads what it
// shows without a page reload. The server relays the coordinator's event feed for this
// worker as Server-Sent Events (/orchestra/api/interface/events/); EventSource reconnects by
// itself and resumes after the last event it saw. Only while no stream is open does the page
// fall back to reloading every 30 seconds.
import { toSignIn } from "./api.js";

const STREAM = "/orchestra/api/interface/events/";
const FALLBACK_MS = 30000;
const SETTLE_MS = 250;

// follow calls refresh() after each change (several close together count once); it returns
// a function that stops following.
export function follow(refresh) {
  let timer = null;
  let poll = null;
  let source = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, SETTLE_MS);
  };
  const fallback = (on) => {
    if (on && !poll) poll = setInterval(refresh, FALLBACK_MS);
    if (!on && poll) {
      clearInterval(poll);
      poll = null;
    }
  };
  if (typeof EventSource !== "function") {
    fallback(true);
    return () => fallback(false);
  }
  source = new EventSource(STREAM);
  document.body.dataset.live = "connecting";
  source.addEventListener("open", () => {
    document.body.dataset.live = "open";
    fallback(false);
  });
  source.addEventListener("change", soon);
  source.addEventListener("reset", soon);
  source.addEventListener("expired", () => {
    source.close();
    toSignIn();
  });
  source.addEventListener("error", () => {
    document.body.dataset.live = source.readyState === EventSource.CLOSED ? "closed" : "connecting";
    fallback(true);
  });
  return () => {
    fallback(false);
    source.close();
  };
}
