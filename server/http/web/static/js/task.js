// task.js: a task page: the step and the project, the previous steps' data (upstream's
// prerequisites), the review history, and the step's own interface (its module, else the
// generic editor), with Save (and autosave), Submit, and for reviewers Accept and Return
// with feedback. Each action asks for confirmation and shows the coordinator's refusal as
// it is worded. A task the worker no longer works on is shown read-only.
import { API, csrfToken, post } from "./api.js";
import { announce, confirm, dialog, errorBox, field, h, setMain, when } from "./dom.js";
import mountEditor from "./editor.js";

// The reviewer's feedback travels in the task data under this key (plugins/README.md).
export const REVIEW_KEY = "_review_comment";
// Upstream's UI saved 10 s after a change.
const AUTOSAVE_MS = 10000;

// show renders any JSON value readably: objects as definition lists, lists as lists.
function show(value, depth = 0) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "(empty)");
  if (Array.isArray(value)) {
    if (!value.length) return h("span", { class: "muted" }, "(none)");
    return h("ol", { class: "data-list" }, value.map((v) => h("li", {}, show(v, depth + 1))));
  }
  if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => k !== REVIEW_KEY);
    if (!keys.length) return h("span", { class: "muted" }, "(no data)");
    if (depth > 4) return h("code", {}, JSON.stringify(value));
    return h("dl", { class: "data" }, keys.map((k) => [h("dt", {}, k), h("dd", {}, show(value[k], depth + 1))]));
  }
  const text = String(value);
  if (/^https?:\/\//.test(text)) return h("a", { href: text, rel: "noopener noreferrer", target: "_blank" }, text);
  return h("span", { class: "value" }, text);
}

function historyTable(history) {
  if (!history.length) return h("p", { class: "empty" }, "No review rounds yet.");
  const rows = history.map((it) => {
    const who = it.worker ? it.worker.username : "machine";
    const level = it.counter === 0 ? "Core worker" : `Reviewer ${it.counter}`;
    const comment = it.submitted_data && it.submitted_data[REVIEW_KEY];
    return h("tr", {},
      h("td", {}, level, h("br"), h("span", { class: "muted" }, who)),
      h("td", {}, it.status),
      h("td", {}, when(it.start_datetime), it.end_datetime ? [" – ", when(it.end_datetime)] : " – now"),
      h("td", {}, comment ? h("blockquote", { class: "feedback" }, comment) : h("span", { class: "muted" }, "—")));
  });
  return h("div", { class: "table-wrap" }, h("table", { class: "history" },
    h("caption", { class: "visually-hidden" }, "Review history of this task"),
    h("thead", {}, h("tr", {}, ["Who", "Status", "When", "Feedback"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

// loadInterface imports the step's module, or falls back to the generic editor.
async function loadInterface(taskId, details, note) {
  if (!details.has_module) return mountEditor;
  try {
    const mod = await import(`/orchestra/app/task/${taskId}/interface.js`);
    if (typeof mod.default !== "function") throw new Error("it exports no default function");
    return mod.default;
  } catch (e) {
    note.replaceChildren(errorBox(`The step's interface could not be loaded (${e.message}); the generic editor is shown instead.`));
    return mountEditor;
  }
}

// askFeedback asks a reviewer why the work goes back; null when cancelled.
async function askFeedback() {
  const f = field("Feedback for the worker", "textarea", { required: true, rows: 5 });
  const v = await dialog("Return with feedback", [h("p", {}, "The task goes back one level with your feedback."), f.wrap], [
    { label: "Cancel", value: "cancel" },
    { label: "Return task", value: "return", primary: true },
  ]);
  return v === "return" ? f.input.value.trim() : null;
}

function actions(ctx) {
  const { info } = ctx;
  const status = h("p", { class: "save-status", role: "status" });
  const error = h("div", { class: "action-error" });
  ctx.status = status;
  ctx.error = error;
  const save = h("button", { type: "button", onclick: () => ctx.save(false) }, "Save");
  const buttons = [save];
  if (info.is_reviewer) {
    buttons.push(h("button", { type: "button", class: "primary", onclick: () => ctx.act("accept") }, "Accept"));
    buttons.push(h("button", { type: "button", class: "danger", onclick: () => ctx.act("reject") }, "Return with feedback"));
  } else {
    buttons.push(h("button", { type: "button", class: "primary", onclick: () => ctx.act("submit") }, "Submit"));
  }
  return h("div", { class: "task-actions" }, h("div", { class: "buttons" }, buttons), status, error);
}

function makeContext(taskId, info, details) {
  const raw = info.task.data || {};
  const feedback = raw[REVIEW_KEY];
  const data = { ...raw };
  delete data[REVIEW_KEY];
  const ctx = { taskId, info, details, data, dirty: false, timer: null, handle: { missing: () => [] } };
  ctx.change = (next) => {
    ctx.data = next;
    ctx.dirty = true;
    ctx.status.textContent = "Unsaved changes";
    clearTimeout(ctx.timer);
    ctx.timer = setTimeout(() => ctx.save(true), AUTOSAVE_MS);
  };
  ctx.save = async (auto) => {
    clearTimeout(ctx.timer);
    try {
      await post("save_task_assignment/", { task_id: taskId, task_data: ctx.data });
      ctx.dirty = false;
      ctx.status.textContent = `${auto ? "Saved automatically" : "Saved"} at ${new Date().toLocaleTimeString()}`;
      ctx.error.replaceChildren();
      if (!auto) announce("Saved.");
    } catch (e) {
      ctx.error.replaceChildren(errorBox(e.message));
      announce(e.message);
    }
  };
  ctx.act = async (command) => {
    const missing = command === "reject" ? [] : ctx.handle.missing ? ctx.handle.missing() : [];
    if (missing.length) {
      ctx.error.replaceChildren(errorBox(`Please fill in: ${missing.join(", ")}.`));
      return;
    }
    const body = { ...ctx.data };
    if (command === "reject") {
      const why = await askFeedback();
      if (why === null) return;
      if (!why) {
        ctx.error.replaceChildren(errorBox("Please say what needs to change."));
        return;
      }
      body[REVIEW_KEY] = why;
    } else {
      const verb = command === "accept" ? "Accept" : "Submit";
      const text = command === "accept" ? "Accept this work? It goes on to the next review level or is complete."
        : "Submit this task? You cannot change it afterwards unless a reviewer returns it.";
      if (!(await confirm(`${verb} task`, text, verb))) return;
    }
    clearTimeout(ctx.timer);
    try {
      await post("submit_task_assignment/", { task_id: taskId, task_data: body, command_type: command });
      ctx.dirty = false;
      announce(command === "reject" ? "Returned to the worker." : "Submitted.");
      location.assign(`/orchestra/app/task/${taskId}`);
    } catch (e) {
      ctx.error.replaceChildren(errorBox(e.message));
      announce(e.message);
    }
  };
  ctx.feedback = feedback;
  return ctx;
}

export async function showTask(taskId, { timer }) {
  let info, details;
  try {
    [info, details] = await Promise.all([
      post("task_assignment_information/", { task_id: taskId }),
      post("task_details/", { task_id: taskId }),
    ]);
  } catch (e) {
    if (e.status === 401) throw e;
    setMain(h("h1", {}, "Task"), errorBox(e.message), h("p", {}, h("a", { href: "/orchestra/app/" }, "Back to the dashboard")));
    return;
  }
  timer.setTask(info.assignment_id);
  const ctx = makeContext(taskId, info, details);
  const readOnly = info.is_read_only;
  const note = h("div", {});
  const work = h("div", { class: "step-interface" });
  const role = info.is_reviewer ? "Reviewer" : "Core worker";
  const feedbackBanner = ctx.feedback && !info.is_reviewer && !readOnly
    ? h("div", { class: "notice feedback-banner", role: "note" }, h("strong", {}, "Feedback from your reviewer: "), ctx.feedback)
    : null;
  setMain(
    h("p", { class: "crumbs" }, h("a", { href: "/orchestra/app/" }, "Dashboard"), " › ", info.workflow.name),
    h("h1", {}, info.step.name),
    h("p", { class: "task-meta" },
      h("span", { class: "badge" }, `Task ${info.task_id}`),
      h("span", { class: "badge" }, info.task.status),
      h("span", { class: "badge" }, role),
      readOnly ? h("span", { class: "badge badge-muted" }, "Read-only") : null),
    readOnly ? h("p", { class: "notice" }, "You are not working on this task now: it is shown read-only.") : null,
    feedbackBanner,
    h("section", { "aria-labelledby": "sec-step" }, h("h2", { id: "sec-step" }, "Step"),
      h("p", {}, details.step.description || "(no description)")),
    h("section", { "aria-labelledby": "sec-project" }, h("h2", { id: "sec-project" }, "Project"),
      h("p", {}, info.project.details || "(no description)"),
      h("details", {}, h("summary", {}, "Project data"), show(info.project.project_data))),
    h("section", { "aria-labelledby": "sec-prereq" }, h("h2", { id: "sec-prereq" }, "Previous steps"),
      Object.keys(info.prerequisites || {}).length
        ? Object.entries(info.prerequisites).map(([slug, d]) => h("details", { class: "prereq" }, h("summary", {}, slug), show(d)))
        : h("p", { class: "empty" }, "This step depends on no earlier step.")),
    h("section", { "aria-labelledby": "sec-history" }, h("h2", { id: "sec-history" }, "Review history"),
      historyTable(details.history)),
    h("section", { "aria-labelledby": "sec-work", class: "work" }, h("h2", { id: "sec-work" }, readOnly ? "The work" : "Your work"),
      note, work, readOnly ? null : actions(ctx)));
  const mount = await loadInterface(taskId, details, note);
  const api = {
    taskId,
    task: info,
    data: ctx.data,
    project: info.project,
    prerequisites: info.prerequisites || {},
    readOnly,
    isReviewer: info.is_reviewer,
    step: details.step,
    userInterface: details.user_interface,
    h,
    field,
    change: (d) => { if (!readOnly) ctx.change(d); },
  };
  try {
    ctx.handle = mount(work, api) || { missing: () => [] };
  } catch (e) {
    note.replaceChildren(errorBox(`The step's interface failed (${e.message}); the generic editor is shown instead.`));
    ctx.handle = mountEditor(work, api) || { missing: () => [] };
  }
  // Leaving the page with unsaved changes saves them (keepalive outlives the page).
  window.addEventListener("pagehide", () => {
    if (ctx.dirty && !readOnly) {
      fetch(`${API}save_task_assignment/`, {
        method: "POST",
        keepalive: true,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ task_id: taskId, task_data: ctx.data }),
      });
    }
  });
}
