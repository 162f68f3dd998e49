// timer.js: the timer in the navigation bar (seed document 4.1.1). The timer lives on the
// server (one per worker), so it keeps running across pages and reloads; this widget shows
// it, starts and stops it, and edits its description and task. On a task page the task is
// filled in. Stopping it creates a time entry, which the timecard shows.
import { get, post } from "./api.js";
import { announce, field, h, icon, nextId } from "./dom.js";

// seconds reads Python's timedelta text ("1:02:03", "0:05:03.123456", "2 days, 1:00:00").
export function seconds(text) {
  if (!text) return 0;
  let days = 0;
  let rest = String(text);
  const d = rest.match(/^(-?\d+) days?, (.*)$/);
  if (d) {
    days = Number(d[1]);
    rest = d[2];
  }
  const [hh, mm, ss] = rest.split(":");
  return days * 86400 + Number(hh) * 3600 + Number(mm) * 60 + Number.parseFloat(ss || "0");
}

export function clock(total) {
  const s = Math.max(0, Math.floor(total));
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return `${hh}:${mm}:${ss}`;
}

// taskOptions lists the worker's active assignments for the task picker.
async function taskOptions() {
  const data = await get("dashboard_tasks/");
  const opts = [["", "No task"]];
  for (const k of ["in_progress", "returned", "pending_review", "pending_processing"]) {
    for (const e of data.tasks[k]) opts.push([String(e.assignment_id), `${e.step} · ${e.detail}`]);
  }
  return opts;
}

export function mountTimer(root) {
  const state = { timer: null, base: 0, at: 0, tick: null, task: null };
  const panelId = nextId("timer-panel");
  const display = h("span", { class: "timer-time", "aria-hidden": "true" }, "");
  const toggle = h("button", { type: "button", class: "timer-toggle", "aria-expanded": "false",
    "aria-controls": panelId }, icon("clock"),
    h("span", { class: "timer-label" }, "Timer"), display);
  const status = h("p", { class: "timer-status", role: "status" });
  const startStop = h("button", { type: "button", class: "primary timer-start" }, "Start timer");
  const desc = field("Description", "text");
  const task = field("Task", "select", { options: [["", "No task"]] });
  const panel = h("div", { id: panelId, class: "timer-panel", hidden: true },
    status, startStop, desc.wrap, task.wrap,
    h("p", {}, h("a", { href: "/orchestra/app/timecard" }, "Open the timecard")));
  root.replaceChildren(toggle, panel);

  const running = () => Boolean(state.timer && state.timer.start_time);
  const paint = () => {
    const now = running() ? state.base + (Date.now() - state.at) / 1000 : 0;
    display.textContent = running() ? ` ${clock(now)}` : "";
    toggle.classList.toggle("running", running());
    toggle.setAttribute("aria-label", running() ? `Timer, running: ${clock(now)}` : "Timer, stopped");
    status.textContent = running() ? `Running: ${clock(now)}` : "The timer is stopped.";
    startStop.textContent = running() ? "Stop timer" : "Start timer";
  };
  const show = (t) => {
    state.timer = t;
    state.base = running() ? seconds(t.time_worked) : 0;
    state.at = Date.now();
    if (running()) {
      desc.input.value = t.description || "";
      if (t.assignment) task.input.value = String(t.assignment);
    }
    clearInterval(state.tick);
    if (running()) state.tick = setInterval(paint, 1000);
    paint();
  };
  const fillTasks = async () => {
    try {
      const opts = await taskOptions();
      const keep = task.input.value;
      task.input.replaceChildren(...opts.map(([v, l]) => h("option", { value: v }, l)));
      const want = running() && state.timer.assignment ? String(state.timer.assignment)
        : state.task ? String(state.task) : keep;
      if ([...task.input.options].some((o) => o.value === want)) task.input.value = want;
    } catch (e) {
      status.textContent = e.message;
    }
  };
  toggle.addEventListener("click", async () => {
    const open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      await fillTasks();
      startStop.focus();
    }
  });
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      panel.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    }
  });
  startStop.addEventListener("click", async () => {
    startStop.disabled = true;
    try {
      if (running()) {
        const entry = await post("timer/stop/");
        show(await get("timer/"));
        const msg = `Timer stopped: ${entry.time_worked} recorded on ${entry.date}.`;
        status.textContent = msg;
        announce(msg);
        document.dispatchEvent(new CustomEvent("orchestra:time-entry", { detail: entry }));
      } else {
        const a = task.input.value ? Number(task.input.value) : null;
        show(await post("timer/start/", { assignment: a, description: desc.input.value }));
        show(await get("timer/"));
        announce("Timer started.");
      }
    } catch (e) {
      status.textContent = e.message;
      announce(e.message);
    } finally {
      startStop.disabled = false;
    }
  });
  const update = async () => {
    if (!running()) return;
    try {
      await post("timer/update/", { description: desc.input.value,
        assignment: task.input.value ? Number(task.input.value) : null });
    } catch (e) {
      status.textContent = e.message;
    }
  };
  desc.input.addEventListener("change", update);
  task.input.addEventListener("change", update);
  get("timer/").then(show).catch((e) => { status.textContent = e.message; });
  return {
    // setTask pre-fills the task (a task page does, with its assignment).
    setTask(assignmentId) {
      state.task = assignmentId;
      if (!running()) fillTasks();
    },
  };
}
