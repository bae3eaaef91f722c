// /petugas/cari: cases by tracking code, status, kind, channel, category, dates, SOP step and
// lateness, and (as the officer's roles allow) by a letter's number, words of the complaint and
// the complainant's name, phone, email or NIK; each linked to its page; the same search as CSV
// or XLSX. The criteria live in the address, so a search can be shared.
import { $, $$, api, clearErrors, download, el, formatDateTime, requireOfficer, showProblem } from "/aset/app.js";
import { badges, caseHref, labels, startOfficerPage } from "/aset/petugas.js";

const LIMIT = 100;
startOfficerPage();
const [words, criteria] = await Promise.all([labels(), api("/reporting/v1/cases/criteria")]);
if (criteria.status === 401) requireOfficer();
const form = $("#saring");
const main = $("#cari");

// The fields of the criteria intake holds: shown only when the access policy lets these roles
// search by them (the API refuses the others).
const permitted = new Set(criteria.ok ? criteria.data : []);
for (const field of $$("[data-criterion]", form)) {
  const shown = permitted.has(field.dataset.criterion);
  field.hidden = !shown;
  if (!shown) field.querySelector("input").remove();
}
$("#pelapor").hidden = !$$("#pelapor [data-criterion]").some((field) => !field.hidden);
const controls = $$("input, select", form);

const CHOICES = { status: "statuses", kind: "kinds", channel: "channels", category: "categories" };
for (const [name, list] of Object.entries(CHOICES)) {
  const select = form.elements.namedItem(name);
  for (const term of words.words[list]) select.append(el("option", { value: term.id }, term.label));
}
const steps = form.elements.namedItem("step");
for (const [kind, list] of Object.entries(words.words.steps)) {
  const group = el("optgroup", { label: words.kind(kind) });
  for (const step of list.filter((s) => s.per_case)) group.append(el("option", { value: step.id }, `${step.number}. ${step.label}`));
  steps.append(group);
}
const given = new URLSearchParams(location.search);
for (const control of controls) if (given.has(control.name)) control.value = given.get(control.name);

function chosen() {
  const params = new URLSearchParams();
  for (const control of controls) {
    const value = control.value.trim();
    if (value) params.set(control.name, control.name === "code" ? value.toUpperCase() : value);
  }
  return params;
}

function row(item, withText) {
  const running = words.inGroup("open", item.status) && !words.inGroup("waiting", item.status); // the clock runs
  const overdue = running && item.step_due_at && new Date(item.step_due_at) <= new Date();
  return el(
    "tr",
    { "data-code": item.tracking_code },
    el("td", {}, el("a", { href: caseHref(item.case_id), class: "tiket" }, item.tracking_code)),
    el("td", {}, words.kind(item.kind)),
    el("td", {}, words.channel(item.channel)),
    el("td", {}, words.category(item.category)),
    el("td", {}, formatDateTime(item.received_at)),
    el("td", {}, badges({ status: item.status, status_label: words.status(item.status), overdue, breached: item.breached })),
    el("td", {}, item.current_step ? words.step(item.kind, item.current_step) : "–"),
    el("td", {}, formatDateTime(item.deadline_at)),
    ...(withText ? [el("td", { class: "cuplikan" }, item.excerpt || "–")] : [])
  );
}

function render(items) {
  const withText = items.some((item) => item.excerpt);
  const head = ["Nomor tiket", "Jenis", "Kanal", "Kategori", "Diterima", "Status", "Langkah", "Tenggat", ...(withText ? ["Isi"] : [])];
  const count = items.length >= LIMIT ? `${LIMIT} kasus terbaru ditampilkan; persempit pencarian untuk yang lain.` : `${items.length} kasus ditemukan.`;
  const table = el(
    "div",
    { class: "gulir" },
    el(
      "table",
      { id: "kasus-ditemukan" },
      el("thead", {}, el("tr", {}, head.map((text) => el("th", { scope: "col" }, text)))),
      el("tbody", {}, items.map((item) => row(item, withText)))
    )
  );
  $("#hasil").replaceChildren(el("p", { id: "jumlah" }, count), ...(items.length ? [table] : []));
}

async function search() {
  clearErrors(form);
  main.dataset.state = "memuat";
  const params = chosen();
  history.replaceState(null, "", params.size ? `?${params}` : location.pathname);
  const answer = await api(`/reporting/v1/cases?${params}&limit=${LIMIT}`);
  if (answer.status === 401) requireOfficer();
  if (answer.ok) render(answer.data);
  else {
    $("#hasil").replaceChildren();
    showProblem(form, answer.problem);
  }
  main.dataset.state = "siap";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
for (const button of $$("button[data-format]", form)) {
  button.addEventListener("click", () => {
    clearErrors(form);
    const format = button.dataset.format;
    download(`/reporting/v1/cases.${format}?${chosen()}`, `kasus.${format}`).catch((error) => showProblem(form, { detail: error.message }));
  });
}
form.querySelector("button[type=submit]").disabled = false; // disabled until the script listens
search();
