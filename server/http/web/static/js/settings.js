// settings.js: the worker's settings page: which of upstream's six e-mails (spec 3.7) they
// get, one switch each (upstream's CommunicationPreference), saved to the coordinator
// (notification_preferences/), where orchestra-notify reads them before each e-mail.
import { get, post } from "./api.js";
import { announce, errorBox, field, h, setMain } from "./dom.js";

const HELP = {
  assigned: "When you take a new task.",
  under_review: "When a task you submitted goes to a reviewer.",
  returned: "When a reviewer sends your work back to you.",
  ready_for_rereview: "When work you returned has been updated.",
  complete: "When a task you worked on is complete.",
  ended: "When a task you were working on is ended.",
};

function form(data) {
  const status = h("div", { class: "save-status" });
  const boxes = data.notifications.map((n) => {
    const f = field(n.subject, "checkbox", { value: n.email, help: HELP[n.kind] });
    f.input.name = n.kind;
    f.input.dataset.kind = n.kind;
    return f;
  });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const address = data.email
    ? ["E-mails go to ", h("strong", {}, data.email), "."]
    : ["You have no e-mail address on file, so no e-mail can be sent."];
  const el = h("form", { class: "settings", "aria-describedby": "settings-help" },
    h("fieldset", {}, h("legend", {}, "E-mail me"), boxes.map((b) => b.wrap)),
    save, status);
  el.addEventListener("submit", async (e) => {
    e.preventDefault();
    save.disabled = true;
    status.replaceChildren();
    const notifications = {};
    for (const b of boxes) notifications[b.input.dataset.kind] = b.input.checked;
    try {
      const saved = await post("notification_preferences/", { notifications });
      for (const b of boxes) {
        const n = saved.notifications.find((x) => x.kind === b.input.dataset.kind);
        if (n) b.input.checked = n.email;
      }
      status.replaceChildren(h("p", { class: "notice success", role: "status" }, "Your settings are saved."));
      announce("Your settings are saved.");
    } catch (err) {
      status.replaceChildren(errorBox(err.message));
    } finally {
      save.disabled = false;
    }
  });
  return [h("p", { id: "settings-help", class: "help" }, ...address), el];
}

// showSettings renders the page.
export async function showSettings() {
  const data = await get("notification_preferences/");
  setMain(h("h1", {}, "Settings"), h("h2", {}, "Notifications"), form(data));
}
