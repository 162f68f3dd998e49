// photographer.js: the Photography step (upstream's "photographer" directive): the
// photographer takes photos for the story, puts them in the project's raw photo folder, and
// lists them here with a description; a senior photographer reviews the selection. Data:
// {photos: [{filename, description}]}, at least one photo. Contract: plugins/README.md.
export default function mount(root, api) {
  const { h, field } = api;
  let photos = Array.isArray(api.data.photos) ? api.data.photos.map((p) => ({ ...p })) : [];
  const docs = api.prerequisites.document_creation || {};
  const plan = api.prerequisites.article_planning || {};
  const list = h("ol", { class: "photo-list" });
  const save = () => api.change({ ...api.data, photos: photos.map((p) => ({ ...p })) });
  const draw = (focusIndex) => {
    list.replaceChildren(...photos.map((p, i) => {
      const name = field(`Photo ${i + 1}: file name`, "text", { value: p.filename || "", required: true, readOnly: api.readOnly });
      const desc = field(`Photo ${i + 1}: description`, "text", { value: p.description || "", readOnly: api.readOnly });
      name.input.addEventListener("input", () => { photos[i].filename = name.input.value; save(); });
      desc.input.addEventListener("input", () => { photos[i].description = desc.input.value; save(); });
      const remove = api.readOnly ? null : h("button", { type: "button", class: "small",
        "aria-label": `Remove photo ${i + 1}`, onclick: () => { photos.splice(i, 1); save(); draw(Math.max(0, i - 1)); } }, "Remove");
      return h("li", { class: "photo" }, name.wrap, desc.wrap, remove);
    }));
    if (focusIndex !== undefined) list.querySelectorAll("input")[focusIndex * 2]?.focus();
  };
  const add = api.readOnly ? null : h("button", { type: "button", onclick: () => {
    photos.push({ filename: "", description: "" });
    save();
    draw(photos.length - 1);
  } }, "Add a photo");
  root.replaceChildren(
    h("section", { class: "notice" }, h("h3", {}, "Assignment"),
      h("p", {}, [plan.what, plan.where, plan.when].filter(Boolean).join(" · ") || "See the editor's plan above."),
      docs.raw_photo_folder ? h("p", {}, "Put your photos in: ", h("code", {}, docs.raw_photo_folder)) : null),
    h("h3", {}, "Photos"), list, add);
  draw();
  return {
    missing: () => (photos.some((p) => String(p.filename || "").trim()) ? [] : ["at least one photo"]),
  };
}
