// project.js: a project's page for project admins (upstream's project management, spec 5):
// its tasks, their assignments and iterations on a timeline, and the operations: assign or
// reassign a worker, complete and skip a task, end the project, and revert a task to an
// iteration (a preview of the audit first, then the commit).
import { ApiError, post } from "./api.js";
import { announce, confirm, dialog, errorBox, field, h, setMain, when } from "./dom.js";

const PM = "project_management/";
const TASK_STATUS = ["Awaiting Processing", "Processing", "Pending Review", "Reviewing",
  "Post-review Processing", "Complete", "Aborted"];
const CHANGE = ["unchanged", "reverted to Processing", "deleted"];

function span(doc) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const t of Object.values(doc.tasks)) {
    for (const a of t.assignments) {
      for (const it of a.iterations) {
        lo = Math.min(lo, Date.parse(it.start_datetime));
        hi = Math.max(hi, Date.parse(it.end_datetime || it.start_datetime));
      }
    }
  }
  if (!Number.isFinite(lo)) lo = hi = Date.now();
  return [lo, Math.max(hi, lo + 60000)];
}

function auditView(audit) {
  const rows = (audit.assignments || []).map((a) => h("li", {},
    `Assignment ${a.assignment.id}${a.assignment.worker ? ` (${a.assignment.worker.username || a.assignment.worker})` : ""}: ${CHANGE[a.change] || a.change}`,
    h("ul", {}, (a.iterations || []).map((i) => h("li", {},
      `Iteration ${i.iteration.id} (${i.iteration.status}): ${CHANGE[i.change] || i.change}`)))));
  return h("div", { class: "audit" },
    h("p", {}, "Task status after the revert: ", h("strong", {}, TASK_STATUS[audit.reverted_status] ?? String(audit.reverted_status))),
    rows.length ? h("ul", {}, rows) : h("p", {}, "No assignment changes."));
}

export async function showProject(projectId) {
  const error = h("div", { id: "project-error" });
  const run = async (label, endpoint, body, after) => {
    error.replaceChildren();
    try {
      const r = await post(PM + endpoint, body);
      announce(`${label}: done.`);
      if (after) await after(r);
      await load();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) error.replaceChildren(errorBox(e.message));
    }
  };
  const askUser = async (title) => {
    const f = field("Worker's username", "text", { required: true });
    const v = await dialog(title, f.wrap, [{ label: "Cancel", value: "cancel" }, { label: "Save", value: "ok", primary: true }]);
    return v === "ok" && f.input.value.trim() ? f.input.value.trim() : null;
  };
  const revert = async (task, it, before) => {
    const body = { task_id: task.id, iteration_id: it.id, revert_before: before, commit: false };
    try {
      const audit = await post(PM + "revert_task", body);
      const v = await dialog(`Revert task ${task.id}${before ? " to before" : " to"} iteration ${it.id}`,
        [h("p", {}, "This is what the revert would change (nothing has changed yet):"), auditView(audit)],
        [{ label: "Cancel", value: "cancel" }, { label: "Commit revert", value: "commit", primary: true }]);
      if (v === "commit") await run("Revert", "revert_task", { ...body, commit: true });
    } catch (e) {
      error.replaceChildren(errorBox(e.message));
    }
  };
  const taskRow = (slug, task, stepName, [lo, hi]) => {
    const lanes = task.assignments.map((a) => {
      const who = a.worker && a.worker.username ? a.worker.username : "machine";
      const bars = a.iterations.map((it) => {
        const s = Date.parse(it.start_datetime);
        const e = Date.parse(it.end_datetime || it.start_datetime);
        const bar = h("span", { class: `bar bar-${it.status.toLowerCase().replace(/\s+/g, "-")}`,
          title: `${it.status}: ${when(it.start_datetime)} – ${when(it.end_datetime)}` }, it.status);
        const left = ((s - lo) / (hi - lo)) * 100;
        // Late bars hang from the right edge so that their label (min-width) stays visible.
        if (left > 75) bar.style.right = `${100 - Math.min(100, left + ((e - s) / (hi - lo)) * 100)}%`;
        else bar.style.left = `${left}%`;
        bar.style.width = `${Math.max(((e - s) / (hi - lo)) * 100, 1.5)}%`;
        return bar;
      });
      const ops = a.worker && a.worker.username ? h("button", { type: "button", class: "small",
        onclick: async () => { const u = await askUser(`Reassign assignment ${a.id}`); if (u) await run("Reassign", "reassign_assignment", { assignment_id: a.id, worker_username: u }); } },
      "Reassign…") : null;
      const itOps = a.iterations.map((it, i) => h("span", { class: "it-ops" },
        h("button", { type: "button", class: "small", onclick: () => revert(task, it, false) }, `Revert to iteration ${it.id}`),
        i === 0 ? h("button", { type: "button", class: "small", onclick: () => revert(task, it, true) }, `Revert to before ${it.id}`) : null));
      return h("div", { class: "lane" },
        h("div", { class: "lane-label" }, `${a.iterations.length ? "" : "(no iterations) "}${who} · ${a.status}`, " ", ops),
        h("div", { class: "track", role: "img", "aria-label": `${who}: ${a.iterations.map((it) => `${it.status} from ${when(it.start_datetime)} to ${when(it.end_datetime)}`).join("; ")}` }, bars),
        h("div", { class: "lane-ops" }, itOps));
    });
    const taskOps = h("div", { class: "task-ops" },
      ["Awaiting Processing", "Pending Review"].includes(task.status)
        ? h("button", { type: "button", class: "small", onclick: async () => { const u = await askUser(`Assign task ${task.id}`); if (u) await run("Assign", "assign_task", { task_id: task.id, worker_username: u }); } }, "Assign…")
        : null,
      !["Complete", "Aborted"].includes(task.status)
        ? h("button", { type: "button", class: "small", onclick: async () => { if (await confirm("Complete and skip", `Mark task ${task.id} (${stepName}) Complete and move the project on?`, "Complete and skip")) await run("Complete and skip", "complete_and_skip_task", { task_id: task.id }); } }, "Complete and skip")
        : null);
    return h("section", { class: "timeline-task", "aria-label": `${stepName}: ${task.status}` },
      h("h3", {}, `${stepName} `, h("span", { class: "badge" }, task.status), h("span", { class: "muted" }, ` task ${task.id}`)),
      taskOps, lanes.length ? lanes : h("p", { class: "empty" }, "No assignments yet."));
  };
  const load = async () => {
    const doc = await post(PM + "project_information", { project_id: projectId });
    const range = span(doc);
    const names = Object.fromEntries(doc.steps.map((s) => [s.slug, s.name || s.slug]));
    const rows = doc.steps.filter((s) => doc.tasks[s.slug]).map((s) => taskRow(s.slug, doc.tasks[s.slug], names[s.slug], range));
    const end = h("button", { type: "button", class: "danger", disabled: doc.project.status === "Aborted",
      onclick: async () => { if (await confirm("End project", "End this project? Every task is aborted; this cannot be undone.", "End project")) await run("End project", "end_project", { project_id: projectId }); } }, "End project");
    setMain(
      h("p", { class: "crumbs" }, h("a", { href: "/orchestra/app/" }, "Dashboard"), " › Project management"),
      h("h1", {}, `Project ${doc.project.id}: ${doc.project.short_description}`),
      h("p", { class: "task-meta" }, h("span", { class: "badge" }, doc.project.status),
        h("span", { class: "badge" }, `${doc.project.workflow_slug} / ${doc.project.workflow_version_slug}`),
        h("span", { class: "badge" }, `priority ${doc.project.priority}`)),
      error,
      h("div", { class: "project-ops" }, end),
      h("p", { class: "timeline-scale muted" }, `${when(new Date(range[0]).toISOString())} → ${when(new Date(range[1]).toISOString())}`),
      h("div", { class: "timeline" }, rows.length ? rows : h("p", { class: "empty" }, "No tasks yet.")));
  };
  await load();
}
