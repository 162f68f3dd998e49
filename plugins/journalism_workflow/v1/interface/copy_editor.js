// copy_editor.js: the Copy Editing step (upstream's "copyEditor" directive): the copy editor
// gives the article its headline, finishes the text and captions the processed photos.
// Data: {headline (required), article, photos: [{src, caption}]} (upstream's keys plus the
// text). Contract: plugins/README.md.
export default function mount(root, api) {
  const { h, field } = api;
  const reported = (api.prerequisites.reporting || {}).article || "";
  const adjusted = (api.prerequisites.photo_adjustment || {}).photos_for_caption || [];
  const given = Array.isArray(api.data.photos) ? api.data.photos : [];
  let data = {
    ...api.data,
    headline: api.data.headline || "",
    article: api.data.article !== undefined ? api.data.article : reported,
    photos: adjusted.map((src) => ({ src, caption: (given.find((p) => p.src === src) || {}).caption || "" })),
  };
  const headline = field("Headline", "text", { value: data.headline, required: true, readOnly: api.readOnly });
  headline.input.addEventListener("input", () => { data = { ...data, headline: headline.input.value }; api.change(data); });
  const article = field("Article text", "textarea", { value: data.article, readOnly: api.readOnly, rows: 12,
    help: "The reporter's text, for the final edit." });
  article.input.addEventListener("input", () => { data = { ...data, article: article.input.value }; api.change(data); });
  const captions = data.photos.map((p, i) => {
    const f = field(`Caption for photo ${i + 1}`, "text", { value: p.caption, readOnly: api.readOnly });
    f.input.addEventListener("input", () => {
      data = { ...data, photos: data.photos.map((q, j) => (j === i ? { ...q, caption: f.input.value } : q)) };
      api.change(data);
    });
    return h("li", {}, h("code", {}, p.src), f.wrap);
  });
  // The prefilled text and photo list are part of the work even before any edit.
  if (!api.readOnly && JSON.stringify(data) !== JSON.stringify(api.data)) api.change(data);
  root.replaceChildren(headline.wrap, article.wrap, h("h3", {}, "Photos"),
    captions.length ? h("ol", { class: "photo-list" }, captions) : h("p", { class: "empty" }, "The photo step produced no photos."));
  return { missing: () => (String(data.headline || "").trim() ? [] : ["Headline"]) };
}
