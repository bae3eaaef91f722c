// The public complaint form (/formulir) and, with ?jenis=konsultasi, the consultation form.
// An agency's own form (/instansi/{id}/pengaduan, served by intake) names the agency in a meta
// tag: its submissions go to that agency (?agency={id}).
// The intake API checks everything and answers in Bahasa Indonesia; its messages are shown next
// to the fields. The page only checks what would waste a phone's data: too many or too big files.
import {
  $,
  $$,
  FILE_LIMITS,
  api,
  busy,
  chosenFiles,
  describeFiles,
  el,
  formOptions,
  query,
  showProblem,
  siteHeader,
} from "/aset/app.js";

const KINDS = {
  pengaduan: {
    title: "Formulir pengaduan",
    endpoint: "/intake/v1/forms/complaints",
    textLabel: "Isi pengaduan",
    submit: "Kirim pengaduan",
  },
  konsultasi: {
    title: "Formulir konsultasi",
    endpoint: "/intake/v1/forms/consultations",
    textLabel: "Pertanyaan Anda",
    textHelp:
      "Minimal 10 karakter. Jelaskan pertanyaan atau kendala Anda; sebutkan jenis izin atau " +
      "nomor permohonan bila ada.",
    submit: "Kirim konsultasi",
    intro:
      "Tanyakan persyaratan, prosedur, atau kendala OSS (Online Single Submission). " +
      "Petugas Pojok OSS akan menjawab paling lama 14 hari kerja.",
  },
};

siteHeader();
const agency = document.querySelector('meta[name="aduan-instansi"]');
const officeName = agency ? agency.dataset.nama : "DPMPTSP";
const jenis = (agency ? agency.dataset.jenis : query("jenis")) === "konsultasi" ? "konsultasi" : "pengaduan";
const kind = KINDS[jenis];
const form = $("#formulir");
const anonymous = $("#anonim");
// One key per form fill: a double click or a retry after a lost answer makes one case only.
let idempotencyKey = newKey();
let limits = FILE_LIMITS;

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function applyKind() {
  if (jenis === "pengaduan") return;
  document.title = `${kind.title} — ${officeName}`;
  $("#judul").textContent = kind.title;
  $("#pengantar").textContent = kind.intro;
  $("#label-isi").textContent = kind.textLabel;
  $("#bantuan-isi").textContent = kind.textHelp;
  $("#kirim").textContent = kind.submit;
  for (const word of $$("[data-jenis]")) word.textContent = "konsultasi";
}

async function loadOptions() {
  const options = await formOptions();
  if (!options) return;
  limits = options;
  const select = $("#kategori");
  for (const category of options.categories) {
    select.append(el("option", { value: category.id }, category.label));
  }
  describeFiles($("#lampiran"), $("#bantuan-lampiran"), options, "Foto atau dokumen pendukung");
}

function showContact() {
  const hidden = anonymous.checked;
  $("#bagian-kontak").classList.toggle("tersembunyi", hidden);
  $("#catatan-anonim").classList.toggle("tersembunyi", !hidden);
  $("#kontak").disabled = hidden;
  $("#persetujuan").disabled = hidden;
}

function contact() {
  const fields = { name: "#nama", phone: "#telepon", email: "#email", nik: "#nik", address: "#alamat" };
  const filled = {};
  for (const [field, selector] of Object.entries(fields)) {
    const value = $(selector).value.trim();
    if (value) filled[field] = value;
  }
  return Object.keys(filled).length ? filled : null;
}

function payload() {
  const body = {
    text: $("#isi").value,
    anonymous: anonymous.checked,
    confidential: $("#rahasia").checked,
    consent: !anonymous.checked && $("#persetujuan").checked,
  };
  const category = $("#kategori").value;
  if (category) body.category = category;
  const given = anonymous.checked ? null : contact();
  if (given) body.contact = given;
  return body;
}

async function submit() {
  const { files, problem } = chosenFiles($("#lampiran"), limits);
  if (problem) return showProblem(form, problem);
  const data = new FormData();
  data.append("form", JSON.stringify(payload()));
  for (const file of files) data.append("files", file, file.name);
  const params = new URLSearchParams();
  if (query("via") === "qr") params.set("via", "qr");
  if (agency) params.set("agency", agency.content);
  const search = params.toString() ? `?${params}` : "";
  const answer = await api(kind.endpoint + search, {
    method: "POST",
    form: data,
    headers: { "Idempotency-Key": idempotencyKey },
    auth: false,
  });
  if (!answer.ok) return showProblem(form, answer.problem);
  const next = new URLSearchParams({ kode: answer.data.tracking_code });
  if (jenis === "konsultasi") next.set("jenis", jenis);
  // The receipt secret rides in the fragment: shown once on the receipt page, never sent to a
  // server, never in a log or a Referer.
  const secret = answer.data.receipt_secret ? `#kunci=${encodeURIComponent(answer.data.receipt_secret)}` : "";
  // Emptied before leaving: the browser's Back would bring the filled form back, and sending it
  // again (a new page, a new key) filed the complaint twice.
  // And a new key with it: a page the browser keeps and shows again is a new complaint's.
  form.reset();
  showContact();
  idempotencyKey = newKey();
  location.assign(`/terima-kasih?${next}${secret}`);
}

applyKind();
showContact();
anonymous.addEventListener("change", showContact);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, submit);
});
// Disabled in the page until here: sent before the script listens, the form went as the
// browser sends it, to /formulir, which takes no form (the complaint lost, a JSON 404).
$("#kirim").disabled = false;
await loadOptions();
