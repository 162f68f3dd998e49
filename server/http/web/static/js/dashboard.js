// dashboard.js: the worker's dashboard (upstream's dashboard_tasks, spec 5): active tasks in
// upstream's lists, the completed ones, and the buttons that take a new task. It updates by
// itself when one of the worker's tasks changes (live.js).
import { ApiError, call, get, post } from "./api.js";
import { announce, errorBox, h, replaceMain, setMain, when } from "./dom.js";
import { follow } from "./live.js";

const LISTS = [
  ["in_progress", "In progress", "Tasks you are working on."],
  ["returned", "Returned from reviewer", "Your reviewer sent these back with feedback."],
  ["pending_review", "Pending review", "Submitted; waiting for a reviewer."],
  ["pending_processing", "Pending update", "You reviewed these; waiting for a fix below you."],
];
const COMPLETE = ["complete", "Completed", "The most recent tasks you worked on."];
// Upstream's UI waits this long after a failed request before the buttons work again.
const RETRY_AFTER_MS = 15000;

function card(entry, info) {
  const link = h("a", { href: `/orchestra/app/task/${entry.id}`, class: "card-title" }, entry.step);
  const meta = h("dl", { class: "card-meta" },
    h("dt", {}, "Project"), h("dd", {}, entry.detail || "(no description)"),
    h("dt", {}, "Workflow"), h("dd", { title: entry.project }, info && info.workflow ? info.workflow : entry.project));
  if (info && info.assigned_at) meta.append(h("dt", {}, "Assigned"), h("dd", {}, when(info.assigned_at)));
  if (info && info.changed_at) meta.append(h("dt", {}, "Last change"), h("dd", {}, when(info.changed_at)));
  return h("li", { class: "card task-card", dataset: { task: entry.id } }, link, meta);
}

function list(key, title, help, entries, details) {
  const id = `list-${key}`;
  const items = entries.map((e) => card(e, details[e.assignment_id]));
  return h("section", { class: `column column-${key}`, "aria-labelledby": id, dataset: { list: key } },
    h("h2", { id }, title, " ", h("span", { class: "count" }, `(${entries.length})`)),
    h("p", { class: "help" }, help),
    items.length ? h("ul", { class: "cards" }, items) : h("p", { class: "empty" }, "No tasks here."));
}

// newTaskButtons renders "New delivery task" (and "New review task" for reviewers).
function newTaskButtons(data, message) {
  const ask = async (type, button) => {
    for (const b of document.querySelectorAll(".new-task")) b.disabled = true;
    message.textContent = "Looking for a task…";
    try {
      const t = await call(`new_task_assignment/${type}/`, { changes: true });
      location.assign(`/orchestra/app/task/${t.id}`);
      return;
    } catch (e) {
      const none = e instanceof ApiError && (e.message === "No task" || e.message === "No worker certificates");
      message.textContent = none ? "No tasks available at the moment" : e.message;
      announce(message.textContent);
    }
    setTimeout(() => {
      for (const b of document.querySelectorAll(".new-task")) b.disabled = Boolean(data.preventNew);
      button.focus();
    }, RETRY_AFTER_MS);
  };
  const buttons = [h("button", { type: "button", class: "primary new-task", disabled: data.preventNew,
    onclick: (e) => ask("entry_level", e.currentTarget) }, "New delivery task")];
  if (data.reviewerStatus) {
    buttons.push(h("button", { type: "button", class: "new-task", disabled: data.preventNew,
      onclick: (e) => ask("reviewer", e.currentTarget) }, "New review task"));
  }
  const why = data.preventNew
    ? h("p", { class: "notice" }, "A reviewer returned work to you: address the feedback before taking new tasks.")
    : null;
  return h("div", { class: "new-tasks" }, buttons, why);
}

async function load() {
  const data = await get("dashboard_tasks/");
  const all = [...LISTS.map(([k]) => data.tasks[k]), data.tasks.complete].flat();
  let details = {};
  if (all.length) {
    try {
      details = await post("dashboard_details/", { assignment_ids: all.map((e) => e.assignment_id) });
    } catch (e) {
      details = {}; /* the cards still show upstream's fields */
    }
  }
  return { data, details };
}

function render({ data, details }, message, focus) {
  const active = LISTS.reduce((n, [k]) => n + data.tasks[k].length, 0);
  const nodes = [
    h("h1", {}, "Dashboard"),
    newTaskButtons(data, message),
    message,
    active === 0 && data.tasks.complete.length === 0
      ? h("p", { class: "empty" }, "No tasks available at the moment. Ask for a new task above.")
      : null,
    h("div", { class: "columns" }, LISTS.map(([k, t, help]) => list(k, t, help, data.tasks[k], details))),
    list(COMPLETE[0], COMPLETE[1], COMPLETE[2], data.tasks.complete, details),
  ];
  if (focus) setMain(...nodes);
  else replaceMain(...nodes);
}

export async function showDashboard() {
  const message = h("p", { class: "status-line", role: "status" });
  render(await load(), message, true);
  follow(async () => {
    try {
      const fresh = await load();
      const main = document.getElementById("main");
      const keep = document.activeElement && main.contains(document.activeElement)
        ? document.activeElement.getAttribute("href") : null;
      const text = message.textContent;
      render(fresh, message, false);
      message.textContent = text;
      if (keep) main.querySelector(`a[href="${CSS.escape(keep)}"]`)?.focus();
      document.body.dataset.refreshed = String(Date.now());
      announce("The dashboard was updated.");
    } catch (e) {
      if (e.status !== 401) document.getElementById("main").prepend(errorBox(e.message));
    }
  });
}
