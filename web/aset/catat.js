// /petugas/catat: an officer records a complaint or consultation received by letter, phone, at
// the counter, in the suggestion box or by SMS (POST /intake/v1/officer/submissions).
import { $, api, busy, clearErrors, el, query, requireOfficer, showProblem } from "/aset/app.js";
import { labels, notice, officeNowLocal, startOfficerPage, toOfficeIso } from "/aset/petugas.js";

startOfficerPage();
const form = $("#rekam");
const contact = $("#kontak");
const [options, words] = await Promise.all([api("/intake/v1/form-options", { auth: false }), labels()]);
const CONTACT_FIELDS = ["name", "phone", "email", "nik", "address"];
let attemptKey = crypto.randomUUID(); // one per record: a double click is one submission

for (const kind of words.words.kinds) $("#jenis").append(el("option", { value: kind.id }, kind.label));
if (query("jenis") === "konsultasi") $("#jenis").value = "consultation";
if (options.ok) {
  for (const channel of options.data.recorded_channels) $("#kanal").append(el("option", { value: channel.id }, channel.label));
  for (const category of options.data.categories) $("#kategori").append(el("option", { value: category.id }, category.label));
}

function reset() {
  form.reset();
  $("#diterima").value = officeNowLocal();
  contact.disabled = false;
  attemptKey = crypto.randomUUID();
}

$("#anonim").addEventListener("change", (event) => {
  contact.disabled = event.target.checked;
});

function value(name) {
  return form.elements.namedItem(name).value.trim();
}

function body() {
  const record = {
    kind: value("kind"),
    channel: value("channel"),
    text: value("text"),
    anonymous: $("#anonim").checked,
    confidential: $("#rahasia").checked,
  };
  if (value("received_at")) record.received_at = toOfficeIso(value("received_at"));
  if (value("reference")) record.reference = value("reference");
  if (value("category")) record.category = value("category");
  const given = CONTACT_FIELDS.filter((field) => value(`contact.${field}`));
  if (!record.anonymous && given.length) {
    record.contact = Object.fromEntries(given.map((field) => [field, value(`contact.${field}`)]));
  }
  return record;
}

/** The receipt secret and the link to the complainant's own view, for the printed receipt. */
function secretLines(data) {
  if (!data.receipt_secret) return [];
  return [
    el("p", {}, "Kunci tanda terima (berikan hanya kepada pemohon; diperlukan untuk membalas, menjawab \u201cSudah selesai?\u201d dan mengisi survei):"),
    el("p", { class: "kode", id: "kunci-tanda-terima" }, data.receipt_secret),
    el("p", { class: "redup", id: "tautan-pemohon" }, data.track_url),
    el("p", { class: "baris jangan-cetak" }, el("button", { type: "button", class: "kedua", onclick: () => print() }, "Cetak tanda terima")),
  ];
}

function receipt(data, repeated) {
  const again = el("button", { type: "button", class: "kedua" }, "Catat yang lain");
  again.addEventListener("click", () => {
    $("#hasil").replaceChildren();
    form.classList.remove("tersembunyi");
    reset();
    $("#jenis").focus();
  });
  return notice(
    "berhasil",
    el("p", {}, repeated ? "Nomor surat ini sudah tercatat sebelumnya. Nomor tiketnya:" : "Tercatat. Nomor tiket untuk pemohon:"),
    el("p", { class: "kode", id: "nomor-tiket" }, data.tracking_code),
    ...secretLines(data),
    el(
      "p",
      { class: "baris" },
      el("a", { class: "tombol", href: `/petugas/cari?code=${encodeURIComponent(data.tracking_code)}` }, "Cari kasus ini"),
      again
    )
  );
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, async () => {
    clearErrors(form);
    const answer = await api("/intake/v1/officer/submissions", {
      method: "POST",
      json: body(),
      headers: { "Idempotency-Key": attemptKey },
    });
    if (answer.status === 401) requireOfficer();
    if (!answer.ok) return showProblem(form, answer.problem);
    form.classList.add("tersembunyi");
    const box = receipt(answer.data, answer.status === 200);
    $("#hasil").replaceChildren(box);
    return box.focus();
  });
});

reset();
// The button stays disabled until here: a click before the script listens would send the form
// natively, personal data and all, in the address.
form.querySelector("button[type=submit]").disabled = false;
