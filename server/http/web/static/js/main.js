// main.js: the app shell. Every page of /orchestra/app/ loads this module; it fills the
// navigation (who is signed in, the timer, the project box for project admins) and shows the
// page the URL names: the dashboard, a task, the timecard, a project or the settings.
import { call, get, toSignIn } from "./api.js";
import { errorBox, setMain } from "./dom.js";
import { showDashboard } from "./dashboard.js";
import { showProject } from "./project.js";
import { showSettings } from "./settings.js";
import { showTask } from "./task.js";
import { showTimecard } from "./timecard.js";
import { mountTimer } from "./timer.js";

const APP = "/orchestra/app/";

function route(path) {
  let m;
  if ((m = path.match(/^\/orchestra\/app\/task\/(\d+)\/?$/))) return ["task", Number(m[1])];
  if ((m = path.match(/^\/orchestra\/app\/project\/(\d+)\/?$/))) return ["project", Number(m[1])];
  if (/^\/orchestra\/app\/timecard\/?$/.test(path)) return ["timecard"];
  if (/^\/orchestra\/app\/settings\/?$/.test(path)) return ["settings"];
  return ["dashboard"];
}

function navigation(me, page) {
  const who = document.getElementById("who");
  const name = [me.first_name, me.last_name].filter(Boolean).join(" ");
  who.textContent = name ? `${name} (${me.username})` : me.username;
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
  }
  document.getElementById("sign-out").addEventListener("click", async () => {
    try {
      await call("/orchestra/accounts/logout/", { method: "POST" });
    } finally {
      location.assign("/orchestra/accounts/login/");
    }
  });
  const box = document.getElementById("project-open");
  if (me.is_project_admin) {
    box.hidden = false;
    box.addEventListener("submit", (e) => {
      e.preventDefault();
      const id = Number(box.elements.project.value);
      if (id > 0) location.assign(`${APP}project/${id}`);
    });
  }
}

async function start() {
  const [page, id] = route(location.pathname);
  let me;
  try {
    me = await get("whoami/");
  } catch (e) {
    if (e.status === 401) return;
    setMain(errorBox(e.message));
    return;
  }
  navigation(me, page);
  const timer = mountTimer(document.getElementById("timer"));
  try {
    if (page === "task") await showTask(id, { me, timer });
    else if (page === "timecard") await showTimecard({ me, timer });
    else if (page === "project") await showProject(id, { me });
    else if (page === "settings") await showSettings();
    else await showDashboard({ me, timer });
  } catch (e) {
    if (e.status === 401) toSignIn();
    else setMain(errorBox(e.message || String(e)));
  }
}

start();
