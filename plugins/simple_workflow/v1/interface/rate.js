// rate.js: the Image Rating step's form (upstream's "rate" directive): the image the crawl
// step found, upstream's question and its five choices; the saved data is
// {"rating": "<n>: <text>"}. When the crawl found no image, upstream's message says so and
// the task may be submitted without a rating. Contract: plugins/README.md.
const CHOICES = [
  "1: This image is very not awesome",
  "2: This image is slightly not awesome",
  "3: This image is neither awesome nor not awesome",
  "4: This image is slightly awesome",
  "5: This image is very awesome",
];

export default function mount(root, api) {
  const { h } = api;
  const crawl = api.prerequisites.crawl || {};
  const found = crawl.status === "success" && typeof crawl.image === "string" && crawl.image;
  let data = { ...api.data };
  const title = h("h3", {}, "Rate the scraped Image!");
  if (!found) {
    const url = (api.project.project_data || {}).url || "the provided url";
    root.replaceChildren(title,
      h("div", { class: "notice", role: "alert" },
        h("p", {}, `Oh no! It looks like we were unable to scrape an image from ${url}`)),
      h("p", {}, "Feel free to submit the task at any time."));
    return { missing: () => [] };
  }
  const choices = CHOICES.map((text, i) => {
    const id = `rating-${i + 1}`;
    const input = h("input", { type: "radio", name: "imageRating", id, value: text,
      disabled: api.readOnly, required: true });
    input.checked = data.rating === text;
    input.addEventListener("change", () => {
      data = { ...data, rating: text };
      api.change(data);
    });
    return h("label", { class: "choice", for: id }, input, `${text}.`);
  });
  root.replaceChildren(title,
    h("div", { class: "notice success" },
      h("p", {}, "We successfully scraped an image for you! Please rate it below.")),
    h("p", {}, h("img", { src: found, alt: "The image the crawler found on the page" })),
    h("fieldset", { "aria-required": "true" }, h("legend", {}, "How awesome is this image?"), choices));
  return { missing: () => (data.rating ? [] : ["How awesome is this image?"]) };
}
