// editor.js: the Article Planning step (upstream's "editor" directive): the editor plans the
// story for the reporter and the photographer. Data: {who, what, when, where, notes}; the
// first four are required. Contract: plugins/README.md.
const FIELDS = [
  ["who", "Who", "text", true],
  ["what", "What", "text", true],
  ["when", "When", "text", true],
  ["where", "Where", "text", true],
  ["notes", "Notes for the reporter and the photographer", "textarea", false],
];

export default function mount(root, api) {
  const { h, field } = api;
  let data = { ...api.data };
  const docs = api.prerequisites.document_creation || {};
  const inputs = FIELDS.map(([key, label, kind, required]) => {
    const f = field(label, kind, { value: data[key] || "", required, readOnly: api.readOnly });
    f.input.addEventListener("input", () => {
      data = { ...data, [key]: f.input.value };
      api.change(data);
    });
    return f.wrap;
  });
  root.replaceChildren(
    h("h3", {}, "Story plan"),
    h("p", { class: "help" }, "Plan the story: the reporter and the photographer start from it."),
    docs.articleURL ? h("p", {}, "Article draft: ", h("code", {}, docs.articleURL)) : null,
    ...inputs);
  return {
    missing: () => FIELDS.filter(([k, , , req]) => req && !String(data[k] || "").trim()).map(([, l]) => l),
  };
}
