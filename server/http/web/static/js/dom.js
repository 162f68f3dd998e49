// dom.js: small DOM helpers shared by the pages and handed to step interface modules.
// Everything is built with createElement and textContent: no HTML strings, so nothing the
// server or a worker wrote can become markup.

// h builds an element: h("button", {type: "button", onclick: f, class: "x"}, "Text", child).
// Attributes starting with "on" become listeners; booleans set or drop the attribute;
// "dataset" takes an object.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
// nextId returns a fresh element id (labels need one).
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

// field returns a labelled control: {wrap, input}. kind is "text", "textarea", "number",
// "date", "url", "select" (options: [[value, label]...]) or "checkbox".
export function field(label, kind = "text", opts = {}) {
  const id = nextId("field");
  let input;
  if (kind === "textarea") input = h("textarea", { id, rows: opts.rows || 4 });
  else if (kind === "select") {
    input = h("select", { id });
    for (const [value, text] of opts.options || []) input.append(h("option", { value }, text));
  } else input = h("input", { id, type: kind });
  if (opts.required) {
    input.required = true;
    input.setAttribute("aria-required", "true");
  }
  if (opts.value !== undefined && opts.value !== null) {
    if (kind === "checkbox") input.checked = Boolean(opts.value);
    else input.value = opts.value;
  }
  if (opts.readOnly) {
    if (kind === "select" || kind === "checkbox") input.disabled = true;
    else input.readOnly = true;
  }
  const help = opts.help ? h("p", { class: "help", id: id + "-help" }, opts.help) : null;
  if (help) input.setAttribute("aria-describedby", help.id);
  const lab = h("label", { for: id }, label, opts.required ? h("span", { class: "req" }, " (required)") : null);
  const wrap = h("div", { class: kind === "checkbox" ? "field field-check" : "field" },
    kind === "checkbox" ? [input, lab] : [lab, input], help);
  return { wrap, input };
}

// announce says something to screen readers (the live region of the app).
export function announce(text) {
  const el = document.getElementById("announce");
  if (el) {
    el.textContent = "";
    setTimeout(() => { el.textContent = text; }, 30);
  }
}

// dialog opens a modal <dialog> with body (nodes) and buttons [{label, value, primary}],
// resolving with the value of the button pressed, or null for Escape / Cancel.
export function dialog(title, body, buttons) {
  return new Promise((resolve) => {
    const titleId = nextId("dlg");
    const form = h("form", { method: "dialog" });
    const d = h("dialog", { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId }, title), form);
    append(form, [body]);
    const row = h("div", { class: "actions" });
    let first = null;
    for (const b of buttons) {
      const el = h("button", { type: "submit", value: b.value, class: b.primary ? "primary" : "" },
        b.label);
      if (b.autofocus) first = el;
      row.append(el);
    }
    form.append(row);
    d.addEventListener("close", () => {
      const v = d.returnValue;
      d.remove();
      resolve(v && v !== "cancel" ? v : null);
    });
    document.body.append(d);
    d.showModal();
    if (first) first.focus();
  });
}

// confirm asks a yes/no question in a dialog.
export async function confirm(title, text, yes = "Confirm") {
  const v = await dialog(title, h("p", {}, text), [
    { label: "Cancel", value: "cancel" },
    { label: yes, value: "yes", primary: true, autofocus: true },
  ]);
  return v === "yes";
}

// when renders an ISO time as the reader's local date and time.
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// errorBox renders an error message as an alert.
export function errorBox(message) {
  return h("p", { class: "form-error", role: "alert" }, message);
}

// replaceMain replaces the page's content, leaving the focus alone (a refresh).
export function replaceMain(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined));
  return main;
}

// setMain replaces the page's content and moves focus to its heading for screen readers.
export function setMain(...nodes) {
  const main = replaceMain(...nodes);
  const heading = main.querySelector("h1");
  if (heading) document.title = `${heading.textContent} · Orchestra`;
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

// Icons drawn inline (no font or file needed): a clock, a pencil, a cross and a plus.
const ICONS = {
  clock: ["M12 7v5l3 2", "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z"],
  pencil: ["M4 20l4-1 11-11-3-3L5 16l-1 4z", "M14 6l3 3"],
  cross: ["M6 6l12 12", "M18 6L6 18"],
  plus: ["M12 5v14", "M5 12h14"],
};

// icon returns a decorative SVG icon (hidden from screen readers: its button has a label).
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
