// editor.js: the generic editor of a task's data, for steps whose user_interface names no
// module. It follows the same contract as a step module (plugins/README.md): mount(root, api)
// renders the form, reports changes with api.change(data), and returns {missing()}.
// Top-level text, number and yes/no values get their own labelled fields; anything else,
// and the whole document, can be edited as JSON.
import { field, h } from "./dom.js";

function valueField(key, value, readOnly, onChange) {
  if (typeof value === "boolean") {
    const f = field(key, "checkbox", { value, readOnly });
    f.input.addEventListener("change", () => onChange(f.input.checked));
    return f.wrap;
  }
  if (typeof value === "number") {
    const f = field(key, "number", { value, readOnly });
    f.input.step = "any";
    f.input.addEventListener("input", () => {
      if (f.input.value !== "" && !Number.isNaN(Number(f.input.value))) onChange(Number(f.input.value));
    });
    return f.wrap;
  }
  if (typeof value === "string") {
    const long = value.length > 60 || value.includes("\n");
    const f = field(key, long ? "textarea" : "text", { value, readOnly });
    f.input.addEventListener("input", () => onChange(f.input.value));
    return f.wrap;
  }
  const f = field(`${key} (JSON)`, "textarea", { value: JSON.stringify(value, null, 2), readOnly, rows: 5 });
  const err = h("p", { class: "form-error", role: "alert", hidden: true });
  f.input.addEventListener("input", () => {
    try {
      onChange(JSON.parse(f.input.value));
      err.hidden = true;
    } catch (e) {
      err.textContent = `Not valid JSON: ${e.message}`;
      err.hidden = false;
    }
  });
  f.wrap.append(err);
  return f.wrap;
}

export default function mount(root, api) {
  let data = api.data && typeof api.data === "object" && !Array.isArray(api.data) ? api.data : {};
  const draw = () => {
    const fields = Object.entries(data).map(([k, v]) =>
      valueField(k, v, api.readOnly, (nv) => {
        data = { ...data, [k]: nv };
        api.change(data);
      }));
    const parts = [h("p", { class: "help" }, "This step has no form of its own: edit its data below.")];
    parts.push(fields.length ? fields : h("p", { class: "empty" }, "No data yet."));
    if (!api.readOnly) {
      const name = field("New field name", "text");
      const value = field("New field value", "text");
      const add = h("button", { type: "button", onclick: () => {
        const k = name.input.value.trim();
        if (!k || Object.prototype.hasOwnProperty.call(data, k)) return;
        data = { ...data, [k]: value.input.value };
        api.change(data);
        draw();
        // The new field is the last one before the "Add a field" box: continue there.
        const inputs = root.querySelectorAll(".field input, .field textarea");
        const added = [...inputs].filter((el) => !el.closest(".add-field") && !el.closest(".raw-json"));
        added[added.length - 1]?.focus();
      } }, "Add field");
      parts.push(h("fieldset", { class: "add-field" }, h("legend", {}, "Add a field"), name.wrap, value.wrap, add));
    }
    const raw = field("All data (JSON)", "textarea", { value: JSON.stringify(data, null, 2),
      readOnly: api.readOnly, rows: 8 });
    const err = h("p", { class: "form-error", role: "alert", hidden: true });
    raw.input.addEventListener("change", () => {
      try {
        const v = JSON.parse(raw.input.value);
        if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("the data must be an object");
        data = v;
        api.change(data);
        draw();
      } catch (e) {
        err.textContent = `Not valid JSON: ${e.message}`;
        err.hidden = false;
      }
    });
    parts.push(h("details", { class: "raw-json" }, h("summary", {}, "Edit as JSON"), raw.wrap, err));
    root.replaceChildren(...parts.flat());
  };
  draw();
  return { missing: () => [] };
}
