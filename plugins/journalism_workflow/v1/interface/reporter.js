// reporter.js: the Reporting step (upstream's "reporter" directive): the reporter writes the
// article from the editor's plan; a senior reporter reviews it. Data: {article} (required)
// and {notes}. Upstream wrote the article in a Google document; here it is the task's data.
// Contract: plugins/README.md.
function planOf(h, plan) {
  const rows = [["Who", plan.who], ["What", plan.what], ["When", plan.when], ["Where", plan.where],
    ["Notes", plan.notes]].filter(([, v]) => v);
  return h("section", { class: "notice" }, h("h3", {}, "Editor's story plan"),
    rows.length ? h("dl", { class: "data" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))
      : h("p", {}, "The editor left no plan."));
}

export default function mount(root, api) {
  const { h, field } = api;
  let data = { ...api.data };
  const article = field("Article text", "textarea", { value: data.article || "", required: true,
    readOnly: api.readOnly, rows: 14,
    help: api.isReviewer ? "As the reviewer, edit the text or return it with feedback." : "Write the article." });
  const notes = field("Notes for the reviewer", "textarea", { value: data.notes || "", readOnly: api.readOnly, rows: 3 });
  for (const [key, f] of [["article", article], ["notes", notes]]) {
    f.input.addEventListener("input", () => {
      data = { ...data, [key]: f.input.value };
      api.change(data);
    });
  }
  const words = h("p", { class: "help", "aria-live": "polite" });
  const count = () => {
    const n = article.input.value.trim() ? article.input.value.trim().split(/\s+/).length : 0;
    words.textContent = `${n} word${n === 1 ? "" : "s"}`;
  };
  article.input.addEventListener("input", count);
  count();
  root.replaceChildren(planOf(h, api.prerequisites.article_planning || {}), article.wrap, words, notes.wrap);
  return { missing: () => (String(data.article || "").trim() ? [] : ["Article text"]) };
}
