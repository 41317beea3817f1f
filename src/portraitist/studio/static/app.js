// portraitist studio: plain JavaScript against the studio's HTTP API.
const $ = (id) => document.getElementById(id);
const api = async (path, options = {}) => {
  const headers = { "Content-Type": "application/json" };
  const key = localStorage.getItem("portraitist-api-key");
  if (key) headers["X-API-Key"] = key;
  const res = await fetch(path, { ...options, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = Array.isArray(body.detail) ? body.detail.map((d) => d.msg).join("; ") : body.detail;
    throw new Error(`${res.status}: ${detail || res.statusText}` + (res.headers.get("Retry-After") ? ` (retry in ${res.headers.get("Retry-After")} s)` : ""));
  }
  return body;
};
const PRESETS = { blurry: "blurry / out of focus", deformed: "deformed / asymmetrical", plastic: "plastic / artificial skin", watermark: "watermark / text", "teeth-eyes": "extra teeth / mismatched eyes" };
let models = [], promptEdited = false, selected = null, currentJob = null;
let reference = null;  // {reference, face, name} from an upload, or {reference_image, face, name} from the gallery
let style = null, start = null;  // the chosen style's name; the start photo {name, face64, face}

function debounce(fn, ms) { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; }

function briefFields() {
  const out = {};
  for (const el of $("brief").elements) {
    if (!el.name || el.value === "") continue;
    if (el.name === "features" || el.name === "quality") out[el.name] = el.value.split(",").map((s) => s.trim()).filter(Boolean);
    else if (el.type === "number") out[el.name] = Number(el.value);
    else out[el.name] = el.value;
  }
  return out;
}
function presets() { return [...document.querySelectorAll("#presets input:checked")].map((el) => el.value); }

const refreshPrompt = debounce(async (fromBrief) => {
  try {
    const body = { model: $("model").value, negative_presets: presets(), negative_prompt: $("negative").value || null };
    if (fromBrief) body.brief = briefFields(); else body.text = $("prompt").value;
    if (!fromBrief && !body.text) return;
    const res = await api("/api/prompt", { method: "POST", body: JSON.stringify(body) });
    if (fromBrief) $("prompt").value = res.prompt;
    $("hints").innerHTML = res.hints.map((h) => `<li>${h.severity}: ${h.part} — ${escapeHtml(h.message)}</li>`).join("");
    $("coverage").innerHTML = res.coverage.filter((r) => r.honoured !== "yes").map((r) =>
      `<li class="${r.honoured}">${r.honoured === "no" ? "cannot honour" : r.honoured === "partly" ? "partly honours" : "may not follow"} ${r.part}: ${escapeHtml(String(r.value))}${r.note ? " (" + escapeHtml(r.note) + ")" : ""}</li>`).join("");
  } catch (e) { $("error").textContent = e.message; }
}, 250);

function escapeHtml(s) { return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }

function currentModel() {
  return models.find((x) => x.name === $("model").value);
}

function showCard() {
  const m = currentModel();
  if (!m) return;
  $("card").innerHTML = `<b>${escapeHtml(m.title)}</b> — ${m.available ? "ready" : "not usable here: " + escapeHtml(m.why)}<br>
    best for: ${escapeHtml(m.best_for)}<br>style: ${escapeHtml(m.style)}; native ${escapeHtml(m.native_resolution)}<br>
    speed: ${escapeHtml(m.speed)}<br>negative prompt: ${m.negative_prompt}; licence: ${escapeHtml(m.licence)}`;
  $("sampler").innerHTML = `<option value="">model default</option>` + m.samplers.map((s) => `<option>${s}</option>`).join("");
  $("reroll").disabled = !m.reroll;
  $("reroll").checked = m.default_reroll > 0;
  // settings this model has no use for are disabled (the server would refuse them by name)
  for (const [id, has] of [["steps", m.steps], ["guidance", m.guidance], ["sampler", m.samplers.length], ["truncation", m.truncation]]) {
    $(id).disabled = !has;
    if (!has) $(id).value = "";
  }
  // ranges and defaults come from the model card (the server checks the same card)
  for (const [id, range, dflt] of [["steps", m.steps, m.default_steps], ["guidance", m.guidance, m.default_guidance],
                                   ["truncation", m.truncation, m.default_truncation]]) {
    if (range) { $(id).min = range[0]; $(id).max = range[1]; }
    $(id).placeholder = dflt == null ? "model default" : `default ${dflt}`;
  }
  $("n").max = m.limits.max_images;
  $("seed").max = m.limits.max_seed - 1;
  $("prompt").maxLength = $("negative").maxLength = m.limits.prompt_chars;
  $("sliders").hidden = !m.capabilities.includes("edit");
  // a reference face and series only where the card lists them
  $("person").hidden = !m.capabilities.includes("series") && !m.capabilities.includes("reference");
  $("reference-slot").hidden = !m.capabilities.includes("reference");
  $("use-face").hidden = !selected || !m.capabilities.includes("reference");
  if (!m.capabilities.includes("reference")) setReference(null);
  $("start").hidden = !m.capabilities.includes("init-image");
  $("invert-switch").hidden = !m.capabilities.includes("invert");
  if ($("start").hidden) setStart(null);
  loadStyles().catch((e) => { $("error").textContent = e.message; });
  $("generate").disabled = $("make-series").disabled = !m.available;
  refreshPrompt(!promptEdited);
}

function jobBody() {
  const num = (id) => ($(id).value === "" ? null : Number($(id).value));
  const body = {
    prompt: $("prompt").value, negative_prompt: $("negative").value || null, negative_presets: presets(),
    model: $("model").value, seed: num("seed") ?? 0, steps: num("steps"), guidance: num("guidance"),
    sampler: $("sampler").value || null, n: num("n") ?? 1, reroll: $("reroll").checked && !$("reroll").disabled ? currentModel().default_reroll || 2 : 0,
    truncation: num("truncation"),
  };
  if (reference) {
    if (reference.reference_image != null) body.reference_image = reference.reference_image;
    else body.reference = reference.reference;
    body.identity_guidance = num("identity-guidance");
  }
  if (style) body.style = style;
  if (start) { body.init_image = { name: start.name, face: start.face64 }; body.strength = num("strength");
    if (!$("invert-switch").hidden && $("invert").checked) body.invert = true; }
  return body;
}

async function generate() {
  $("error").textContent = "";
  try {
    const job = await api("/api/jobs", { method: "POST", body: JSON.stringify(jobBody()) });
    follow(job.id);
  } catch (e) { $("error").textContent = e.message; }
}

async function makeSeries() {
  $("error").textContent = "";
  const prompts = $("series").value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (!prompts.length) { $("error").textContent = "write one portrait per line in Series"; return; }
  const body = { ...jobBody(), series: prompts, prompt: prompts[0] };
  try {
    const job = await api("/api/jobs", { method: "POST", body: JSON.stringify(body) });
    follow(job.id, prompts);
  } catch (e) { $("error").textContent = e.message; }
}

function setReference(ref) {
  reference = ref;
  $("reference-face").hidden = !ref || !ref.face;
  $("reference-clear").hidden = !ref;
  if (ref && ref.face) $("reference-face").src = ref.face;
  $("reference-name").textContent = ref ? ref.name : "";
  if (!ref) $("reference-file").value = "";
}

async function upload(path, file) {
  // a file's raw bytes to the API; the parsed answer, or an Error with the server's one line
  const headers = { "Content-Type": file.type || "application/octet-stream" };
  const key = localStorage.getItem("portraitist-api-key");
  if (key) headers["X-API-Key"] = key;
  const res = await fetch(path, { method: "POST", body: file, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${res.status}: ${body.detail || res.statusText}`);
  return body;
}

async function uploadReference() {
  const file = $("reference-file").files[0];
  if (!file) return;
  $("error").textContent = "";
  try {
    const body = await upload("/api/references", file);
    setReference({ reference: { reference_face: body.reference_face, reference_embedding: body.reference_embedding },
                   face: body.face, name: file.name });
  } catch (e) { setReference(null); $("error").textContent = e.message; }
}

function setStart(photo) {
  start = photo;
  $("init-face").hidden = $("init-clear").hidden = !photo;
  if (photo) $("init-face").src = photo.face;
  $("init-name").textContent = photo ? photo.name : "";
  if (!photo) $("init-file").value = "";
}

async function uploadStart() {
  const file = $("init-file").files[0];
  if (!file) return;
  $("error").textContent = "";
  try {
    const body = await upload("/api/references", file);
    setStart({ name: file.name, face64: body.face64, face: body.face });
  } catch (e) { setStart(null); $("error").textContent = e.message; }
}

async function loadStyles() {
  const model = $("model").value;
  const list = await api(`/api/styles?model=${encodeURIComponent(model)}`);
  $("styles").innerHTML = "";
  for (const st of [{ name: "", title: "none", description: "no style", cannot_honour: [] }, ...list]) {
    const el = document.createElement("button");
    el.type = "button";
    el.className = "style";
    el.setAttribute("role", "radio");
    el.dataset.name = st.name;
    el.setAttribute("aria-checked", String((style || "") === st.name));
    el.title = st.description + (st.cannot_honour.length ? ` — ${model} cannot honour: ${st.cannot_honour.join(", ")}` : "");
    el.innerHTML = (st.preview ? `<img src="${st.preview}" alt="${escapeHtml(st.title)} preview">` : "") + escapeHtml(st.title);
    el.onclick = () => {
      style = st.name || null;
      for (const b of document.querySelectorAll("#styles .style")) b.setAttribute("aria-checked", String(b.dataset.name === st.name));
    };
    $("styles").append(el);
  }
}

async function makeVariations() {
  if (!selected) return;
  const s = selected.settings;
  const body = { prompt: s.prompt, negative_prompt: s.negative_prompt || null, model: s.model, steps: s.steps ?? null,
    guidance: s.guidance ?? null, sampler: s.sampler || null, truncation: s.truncation ?? null, n: 4,
    seed: Math.floor(Math.random() * 1e9), variation_of: s.seed, variation_strength: Number($("variation-strength").value) };
  if (s.reference_embedding) body.reference = { reference_face: s.reference_face, reference_embedding: s.reference_embedding };
  $("error").textContent = "";
  try {
    const job = await api("/api/jobs", { method: "POST", body: JSON.stringify(body) });
    follow(job.id);
  } catch (e) { $("error").textContent = e.message; }
}

async function makeGrid() {
  const b = jobBody();
  const body = { prompt: b.prompt, x: $("grid-x").value, y: $("grid-y").value || null, model: b.model,
    negative_prompt: b.negative_prompt, style: b.style || null, seed: b.seed, steps: b.steps, guidance: b.guidance,
    sampler: b.sampler, truncation: b.truncation };
  $("error").textContent = $("grid-notes").textContent = "";
  $("status").textContent = "making grid ...";
  try {
    const res = await api("/api/grid", { method: "POST", body: JSON.stringify(body) });
    $("grid-sheet").src = res.sheet;
    $("grid-sheet").hidden = false;
    const missing = res.cells.filter((c) => c.error);
    $("grid-notes").textContent = `${res.cells.length - missing.length} of ${res.cells.length} cells made` +
      (missing.length ? `; marked n/a: ${missing[0].error}` : "");
    $("status").textContent = "grid done";
    loadGallery();
  } catch (e) { $("error").textContent = e.message; $("status").textContent = ""; }
}

async function restoreFrom(file) {
  // a PNG made here: its settings back into the form
  $("error").textContent = "";
  try {
    const { settings: s } = await upload("/api/settings", file);
    if (models.some((m) => m.name === s.model)) { $("model").value = s.model; }
    $("prompt").value = s.prompt; promptEdited = true;
    $("negative").value = s.negative_prompt || "";
    for (const el of document.querySelectorAll("#presets input")) el.checked = false;
    for (const [id, key] of [["seed", "seed"], ["steps", "steps"], ["guidance", "guidance"], ["truncation", "truncation"]])
      $(id).value = s[key] ?? "";
    style = s.style || null;
    showCard();
    $("reroll").checked = false;  // the saved seed made that face (a re-rolled one saved its own)
    $("sampler").value = s.sampler || "";
    if (s.reference_embedding) setReference({ reference: { reference_face: s.reference_face, reference_embedding: s.reference_embedding },
                                               face: null, name: s.reference_face.split(" (sha256")[0] });
    $("status").textContent = `restored the settings of ${file.name}` + (s.init_image ? ` (it started from the photo ${s.init_image}: add it again)` : "");
  } catch (e) { $("error").textContent = e.message; }
}

function showSeries(job, prompts) {
  $("series-view").hidden = false;
  const first = job.images[0] ? job.images[0].settings : {};
  const name = (label) => label.split(" (sha256")[0];
  $("series-title").textContent = `Series of ${job.images.length} portraits of one person` +
    (first.reference_face ? ` (reference: ${name(first.reference_face)})`
      : first.init_image ? ` (from ${name(first.init_image)}${first.invert ? ", inverted" : ""})` : "");
  $("series-strip").innerHTML = job.images.map((img, i) =>
    `<figure><img src="${img.url}" alt="${escapeHtml(prompts[i] || "")}"><figcaption>${escapeHtml(prompts[i] || "")}</figcaption></figure>`).join("");
}

function follow(jobId, seriesPrompts = null) {
  currentJob = jobId;
  $("progress").hidden = $("bar").hidden = $("cancel").hidden = false;
  $("preview").hidden = true;  // until the first step sends one: never a broken image
  const source = new EventSource(`/api/jobs/${jobId}/events`);
  let shown = 0;
  source.addEventListener("progress", (ev) => {
    const job = JSON.parse(ev.data);
    const perImage = job.total ? job.step / job.total : 0;
    $("bar").value = (job.image_index + perImage) / job.n;
    $("progress-text").textContent = `${job.status}: image ${Math.min(job.image_index + 1, job.n)} of ${job.n}, step ${job.step}/${job.total}`;
    if (job.preview) { $("preview").src = job.preview; $("preview").hidden = false; }
    if (job.images.length > shown) { shown = job.images.length; loadGallery(); }
  });
  const finish = (ev) => {
    const job = JSON.parse(ev.data);
    source.close();
    currentJob = null;
    $("cancel").hidden = $("bar").hidden = true;  // nothing left to cancel
    $("progress-text").textContent = job.status + (job.error ? ": " + job.error : `: ${job.images.length} of ${job.n} images`);
    if (job.error) $("error").textContent = job.error;
    $("status").textContent = `last job ${job.status}`;
    if (seriesPrompts && job.images.length) showSeries(job, seriesPrompts);
    loadGallery();
  };
  for (const name of ["done", "failed", "cancelled"]) source.addEventListener(name, finish);
}

async function loadGallery() {
  const params = new URLSearchParams({ limit: "60" });
  if ($("search").value) params.set("q", $("search").value);
  if ($("filter-model").value) params.set("model", $("filter-model").value);
  if ($("filter-qa").value) params.set("qa", $("filter-qa").value);
  const res = await api(`/api/gallery?${params}`);
  $("gallery").innerHTML = "";
  for (const img of res.images) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.dataset.id = img.id;
    const badge = (ok, label) => ok === null ? "" : `<span class="badge ${ok ? "ok" : "bad"}">${label}${ok ? " ✓" : " ✗"}</span>`;
    tile.innerHTML = `<img src="${img.url}" alt="${escapeHtml(img.prompt)}"><div class="badges">${badge(img.face_found, "face")}${badge(img.eyes_match, "eyes")}${badge(img.well_formed ?? null, "form")}<span class="badge">seed ${img.seed ?? "-"}</span></div><div class="caption" title="${escapeHtml(img.prompt)}">${escapeHtml(img.prompt)}</div>`;
    tile.onclick = () => select(img);
    $("gallery").append(tile);
  }
}

function select(img) {
  selected = img;
  $("detail").hidden = false;
  $("detail-image").src = img.url;
  for (const s of document.querySelectorAll("#sliders input")) s.value = 0;
  const own = models.find((x) => x.name === img.model);
  $("sliders").hidden = !(own && own.capabilities.includes("edit"));
  const m = currentModel();
  $("use-face").hidden = !(m && m.capabilities.includes("reference"));
  $("variation-row").hidden = !(own && own.capabilities.includes("variations") && img.seed != null);
  $("detail-settings").textContent = JSON.stringify(img.settings, null, 2);
}

function edits() {
  const out = {};
  for (const s of document.querySelectorAll("#sliders input")) if (Number(s.value) !== 0) out[s.name] = Number(s.value);
  return out;
}
const previewEdit = debounce(async (save = false) => {
  if (!selected) return;
  try {
    const res = await api("/api/edit", { method: "POST", body: JSON.stringify({ image_id: selected.id, edits: edits(), save }) });
    $("detail-image").src = res.preview;
    $("detail-image").dataset.edited = JSON.stringify(edits());
    if (save) loadGallery();
  } catch (e) { $("error").textContent = e.message; }
}, 150);

async function init() {
  models = await api("/api/models");
  $("model").innerHTML = models.map((m) => `<option value="${m.name}" ${m.available ? "" : "class=unavailable"}>${m.name}${m.available ? "" : " (not here)"}</option>`).join("");
  $("filter-model").innerHTML = `<option value="">all models</option>` + models.map((m) => `<option>${m.name}</option>`).join("");
  $("presets").innerHTML = Object.entries(PRESETS).map(([k, v]) => `<label class="switch"><input type="checkbox" value="${k}"> ${v}</label>`).join("");
  $("model").onchange = showCard;
  $("brief").oninput = () => { promptEdited = false; refreshPrompt(true); };
  $("prompt").oninput = () => { promptEdited = true; refreshPrompt(false); };
  $("presets").onchange = () => refreshPrompt(!promptEdited);
  $("generate").onclick = generate;
  $("cancel").onclick = () => currentJob && api(`/api/jobs/${currentJob}`, { method: "DELETE" });
  for (const id of ["search", "filter-model", "filter-qa"]) $(id).oninput = debounce(loadGallery, 200);
  for (const s of document.querySelectorAll("#sliders input")) s.oninput = () => previewEdit(false);
  $("save-edit").onclick = () => previewEdit(true);
  $("reference-file").onchange = uploadReference;
  $("reference-clear").onclick = () => setReference(null);
  $("use-face").onclick = () => selected && setReference({ reference_image: selected.id, face: selected.url, name: `gallery image ${selected.id}` });
  $("make-series").onclick = makeSeries;
  $("init-file").onchange = uploadStart;
  $("init-clear").onclick = () => setStart(null);
  $("variations").onclick = makeVariations;
  $("make-grid").onclick = makeGrid;
  let depth = 0;  // dragenter/leave fire for every child: count them
  document.addEventListener("dragenter", (e) => { if (e.dataTransfer.types.includes("Files")) { depth++; $("drop").hidden = false; } });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) $("drop").hidden = true; });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    $("drop").hidden = true;
    const file = e.dataTransfer.files[0];
    if (file) restoreFrom(file);
  });
  showCard();
  loadGallery();
}
init().catch((e) => { $("error").textContent = e.message; });
