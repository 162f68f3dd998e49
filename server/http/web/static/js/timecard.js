// timecard.js: the timecard page (seed document 4.1.2): the work week starting Monday by
// default, grouped by date, date range pickers, each day's total to the right of the date,
// add (plus), edit (pencil) and delete (x) per entry. Entries missing a description or a
// task are highlighted and hide their day's total. Times are shown rounded up to the minute
// and totals are sums of the rounded times; the coordinator computes both (Timecard), so the
// page only draws them.
import { call, get } from "./api.js";
import { announce, confirm, dialog, errorBox, field, h, icon, replaceMain, setMain } from "./dom.js";

function dayLabel(date) {
  const d = new Date(`${date}T00:00:00Z`);
  return d.toLocaleDateString(undefined, { weekday: "long", month: "long", day: "numeric", timeZone: "UTC" });
}

// taskChoices maps the worker's assignments to labels, for the task pickers.
async function taskChoices() {
  const data = await get("dashboard_tasks/");
  const map = new Map();
  for (const list of Object.values(data.tasks)) {
    for (const e of list) map.set(e.assignment_id, `${e.step} · ${e.detail}`);
  }
  return map;
}

// entryForm asks for an entry's fields; resolves with the body to send, or null.
async function entryForm(title, tasks, entry, date) {
  const rounded = entry ? entry.rounded : "";
  const d = field("Date", "date", { value: entry ? entry.date : date, required: true });
  const t = field("Time worked (hours:minutes)", "text", { value: rounded, required: true,
    help: "For example 1:30 for an hour and a half." });
  t.input.setAttribute("pattern", "\\d{1,3}:[0-5]\\d");
  t.input.setAttribute("inputmode", "numeric");
  const desc = field("Description", "text", { value: entry ? entry.description : "" });
  const opts = [["", "No task"], ...[...tasks].map(([id, label]) => [String(id), label])];
  const task = field("Task", "select", { options: opts });
  if (entry && entry.assignment) task.input.value = String(entry.assignment);
  const error = h("div", {});
  for (;;) {
    const v = await dialog(title, [d.wrap, t.wrap, desc.wrap, task.wrap, error], [
      { label: "Cancel", value: "cancel" },
      { label: "Save entry", value: "save", primary: true },
    ]);
    if (v !== "save") return null;
    const hm = t.input.value.trim().match(/^(\d{1,3}):([0-5]\d)$/);
    if (!d.input.value || !hm) {
      error.replaceChildren(errorBox("Please give a date and a time as hours:minutes."));
      continue;
    }
    const body = { date: d.input.value, description: desc.input.value,
      assignment: task.input.value ? Number(task.input.value) : null };
    // An unchanged time keeps the precise stored value; a changed one has no seconds.
    if (!entry || t.input.value.trim() !== rounded) body.time_worked = `${hm[1].padStart(2, "0")}:${hm[2]}:00`;
    return body;
  }
}

function entryRow(e, tasks, reload) {
  const noDesc = !e.description;
  const noTask = !e.assignment;
  const taskLabel = e.assignment ? tasks.get(e.assignment) || `Assignment ${e.assignment}` : "Missing task";
  const edit = async () => {
    const body = await entryForm("Edit time entry", tasks, e);
    if (!body) return;
    await call(`time_entries/${e.id}/`, { method: "PATCH", body });
    announce("Time entry saved.");
    reload();
  };
  const del = async () => {
    if (!(await confirm("Delete time entry", `Delete the entry of ${e.rounded}${e.description ? ` (${e.description})` : ""}?`, "Delete"))) return;
    await call(`time_entries/${e.id}/`, { method: "DELETE" });
    announce("Time entry deleted.");
    reload();
  };
  const guard = (f) => async () => {
    try {
      await f();
    } catch (err) {
      document.getElementById("timecard-error").replaceChildren(errorBox(err.message));
    }
  };
  return h("li", { class: `entry${noDesc || noTask ? " incomplete" : ""}`, dataset: { entry: e.id } },
    h("span", { class: "entry-time" }, e.rounded),
    h("span", { class: `entry-desc${noDesc ? " missing" : ""}` }, noDesc ? "Missing description" : e.description),
    h("span", { class: `entry-task${noTask ? " missing" : ""}` }, taskLabel),
    h("span", { class: "entry-actions" },
      h("button", { type: "button", class: "icon-button", "aria-label": `Edit the entry of ${e.rounded}`, title: "Edit",
        onclick: guard(edit) }, icon("pencil")),
      h("button", { type: "button", class: "icon-button", "aria-label": `Delete the entry of ${e.rounded}`, title: "Delete",
        onclick: guard(del) }, icon("cross"))));
}

function daySection(day, tasks, reload) {
  const label = dayLabel(day.date);
  const add = async () => {
    try {
      const body = await entryForm(`Add time on ${label}`, tasks, null, day.date);
      if (!body) return;
      await call("time_entries/", { method: "POST", body });
      announce("Time entry added.");
      reload();
    } catch (err) {
      document.getElementById("timecard-error").replaceChildren(errorBox(err.message));
    }
  };
  const total = day.incomplete || day.total === null
    ? h("span", { class: "day-total hidden-total", title: "Hidden: an entry misses a description or a task" },
      h("span", { class: "visually-hidden" }, "Total hidden: an entry misses a description or a task"))
    : h("span", { class: "day-total", "aria-label": `Total ${day.total}` }, day.total);
  return h("section", { class: "day", dataset: { date: day.date }, "aria-label": label },
    h("div", { class: "day-head" },
      h("h2", {}, label),
      total,
      h("button", { type: "button", class: "icon-button add", "aria-label": `Add a time entry on ${label}`, title: "Add",
        onclick: add }, icon("plus"))),
    day.entries.length ? h("ul", { class: "entries" }, day.entries.map((e) => entryRow(e, tasks, reload)))
      : h("p", { class: "empty" }, "No time recorded."));
}

export async function showTimecard() {
  const from = field("From", "date");
  const to = field("To", "date");
  const form = h("form", { class: "range" }, from.wrap, to.wrap, h("button", { type: "submit" }, "Show"));
  const days = h("div", { class: "days" });
  let tasks = new Map();
  const load = async (focus) => {
    const q = from.input.value && to.input.value ? `?from=${from.input.value}&to=${to.input.value}` : "";
    const card = await get(`timecard/${q}`);
    if (card.days.length) {
      from.input.value = card.days[0].date;
      to.input.value = card.days[card.days.length - 1].date;
    }
    days.replaceChildren(...card.days.map((d) => daySection(d, tasks, () => load(false))));
    const nodes = [h("h1", {}, "Timecard"), form, h("div", { id: "timecard-error" }), days];
    if (focus) setMain(...nodes);
    else if (!days.isConnected) replaceMain(...nodes);
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await load(false);
      announce("Timecard updated.");
    } catch (err) {
      document.getElementById("timecard-error").replaceChildren(errorBox(err.message));
    }
  });
  try {
    tasks = await taskChoices();
  } catch (e) {
    tasks = new Map();
  }
  await load(true);
  // A timer stopped from the navigation bar adds an entry: show it.
  document.addEventListener("orchestra:time-entry", () => load(false));
}
