// /petugas/kasus?id=…: one case, what the complainant wrote, its timeline, and a form for each
// action this officer may take now (only those the workflow lists in allowed_actions).
import { $, api, busy, clearErrors, el, formatDateTime, query, requireOfficer, showProblem } from "/aset/app.js";
import { draftOf, readBody, restoreDraft, schemaFields } from "/aset/formulir-skema.js";
import { labels, notice, startOfficerPage } from "/aset/petugas.js";
import { submissionNodes, summaryNodes, timelineItems } from "/aset/riwayat.js";

const officer = startOfficerPage();
const caseId = query("id") || "";
const casePath = `/workflow/v1/cases/${encodeURIComponent(caseId)}`;
const main = $("#kasus");
const words = await labels();
let actions = new Map();
let view = null;
let drafts = {}; // what the officer typed, kept across a reload after a conflict

function say(box) {
  $("#pesan").replaceChildren(box || "");
  if (box) {
    box.focus();
    box.scrollIntoView({ block: "center" });
  }
}

function fail(answer) {
  if (answer.status === 401) requireOfficer();
  const reasons = {
    403: "Anda tidak berwenang membuka kasus ini.",
    404: "Kasus tidak ditemukan.",
  };
  const lead = reasons[answer.status] || "Kasus tidak dapat dimuat.";
  const said = answer.problem ? answer.problem.detail : "";
  const detail = said && said !== lead ? said : ""; // the service's own words, once
  say(notice("galat", el("strong", {}, lead), " ", detail));
  $("#isi-kasus").classList.add("tersembunyi");
  main.dataset.state = "siap";
}

// ---- the action forms ----------------------------------------------------------------------

/** A button that adds an uploaded file's id to the form's list of attachment ids. */
function includeButton({ attachment_id: id, filename }) {
  const button = el("button", { type: "button", class: "kedua kecil", "data-id": id }, `Sertakan ${filename}`);
  button.addEventListener("click", () => {
    const list = button.closest("form").elements.namedItem("attachment_ids");
    const ids = list.value.split("\n").map((line) => line.trim()).filter(Boolean);
    list.value = [...new Set([...ids, id])].join("\n");
  });
  return button;
}

function hints() {
  const files = view.timeline.filter((entry) => entry.event === "AttachmentAdded");
  const listed = files.map((entry) => el("li", {}, includeButton(entry.details), " ", el("code", {}, entry.details.attachment_id)));
  return {
    attachment_ids: files.length
      ? el("div", {}, "Lampiran kasus ini yang sudah diunggah:", el("ul", {}, listed))
      : "Unggah berkas lebih dulu (Unggah lampiran di bawah), lalu sertakan di sini.",
    primary_case_id: primaryFinder(),
  };
}

/** The primary case found by its nomor tiket (the officer knows it; its id is for programs). */
function primaryFinder() {
  const code = el("input", { type: "text", id: "tiket-utama", autocomplete: "off", maxlength: "9", "aria-describedby": "hasil-utama" });
  const found = el("p", { id: "hasil-utama", role: "status" });
  const button = el("button", { type: "button", class: "kedua kecil" }, "Cari");
  code.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault(); // a search, never the merge itself
    button.click();
  });
  button.addEventListener("click", async () => {
    const wanted = code.value.replace(/\s+/g, "").toUpperCase();
    const field = button.closest("form").elements.namedItem("primary_case_id");
    field.value = ""; // the case found before is not the one asked for now
    found.replaceChildren();
    if (!/^[0-9A-Z]{4}-?[0-9A-Z]{4}$/.test(wanted)) return found.replaceChildren("Tuliskan nomor tiket seperti 7K3M-9QXP.");
    const answer = await api(`/reporting/v1/cases?code=${encodeURIComponent(wanted)}&limit=2`);
    if (!answer.ok) return found.replaceChildren(answer.problem.detail);
    const other = answer.data.find((item) => item.case_id !== caseId);
    if (!other) {
      const self = answer.data.length > 0;
      return found.replaceChildren(self ? "Itu nomor tiket kasus ini sendiri." : `Tidak ada kasus dengan nomor tiket ${wanted} yang dapat Anda buka.`);
    }
    field.value = other.case_id;
    return found.replaceChildren(
      "Kasus utama: ",
      el("a", { href: `/petugas/kasus?id=${encodeURIComponent(other.case_id)}`, class: "tiket" }, other.tracking_code),
      ` — ${words.status(other.status)}, diterima ${formatDateTime(other.received_at)}.`
    );
  });
  return el("div", {}, el("label", { for: "tiket-utama" }, "Nomor tiket kasus utama"), " ", code, " ", button, found,
    "Atau isikan id kasus utama (ada di alamat halaman kasus itu).");
}

function conflictNotice(problem, seen) {
  const stale = problem.type === "/problems/stale-version";
  const changes = view.timeline
    .filter((entry) => entry.version > seen)
    .map((entry) => el("li", {}, `${entry.label} — ${entry.role_label || "sistem"}${entry.by_name ? ` (${entry.by_name})` : ""}, ${formatDateTime(entry.at)}`));
  return notice(
    "galat",
    el("strong", {}, "Kasus ini sudah berubah sejak Anda membukanya."),
    stale ? null : ` ${problem.detail}`,
    " Keadaan terbaru sudah dimuat di bawah; periksa lalu kirim lagi bila tindakan itu masih diperlukan.",
    changes.length ? el("ul", {}, changes) : null
  );
}

async function submitAction(action, form) {
  clearErrors(form);
  const body = readBody(form, action.body_schema);
  const answer = await api(`${casePath}/${action.path}`, { method: "POST", json: body });
  if (answer.ok) {
    drafts = {};
    view = answer.data;
    const back = el("a", { href: "/petugas" }, "Kembali ke daftar kerja");
    return render(notice("berhasil", `Tersimpan: ${action.label}. `, back));
  }
  if (answer.status === 409) {
    drafts = { [action.path]: draftOf(form) };
    const seen = view.version;
    const fresh = await api(casePath);
    if (fresh.ok) view = fresh.data;
    return render(conflictNotice(answer.problem, seen));
  }
  if (answer.status === 401) requireOfficer();
  return showProblem(form, answer.problem);
}

/** Asks before a closing action; resolves true when the officer confirms. */
function confirmClosing(action) {
  const dialog = $("#konfirmasi");
  $("#konfirmasi-judul").textContent = `${action.label}?`;
  $("#konfirmasi-isi").textContent = action.public
    ? "Kasus akan ditutup dan jawabannya ditampilkan kepada publik. Tindakan ini tidak dapat dibatalkan kecuali pemohon menyanggah."
    : "Kasus akan ditutup. Tindakan ini tidak dapat dibatalkan kecuali pemohon menyanggah.";
  $("#konfirmasi-ya").textContent = `Ya, ${action.label.charAt(0).toLowerCase()}${action.label.slice(1)}`;
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ya"), { once: true });
    dialog.showModal();
  });
}

function actionForm(action) {
  const properties = action.body_schema.properties || {};
  const form = el(
    "form",
    { novalidate: true, "data-action": action.path, "data-closes": String(action.closes) },
    action.summary !== action.label ? el("p", { class: "redup" }, action.summary) : null,
    action.public
      ? el("p", { class: "kotak-peringatan", role: "note", "data-public": "true" }, el("strong", {}, "Jawaban ini akan ditampilkan kepada publik."), " Pemohon dan siapa pun yang memegang nomor tiket dapat membacanya; jangan tuliskan data pribadi.")
      : null,
    schemaFields(action.body_schema, {
      prefix: `aksi-${action.path.replace(/[^\w]+/g, "-")}`,
      hidden: "version" in properties ? { version: view.version } : {},
      hints: hints(),
      describe: (name, value) => words.role(value),
    }),
    el("button", { type: "submit", class: action.closes ? "menutup" : null }, action.label)
  );
  restoreDraft(form, drafts[action.path]);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (action.closes && !(await confirmClosing(action))) return;
    busy(form, () => submitAction(action, form));
  });
  const isStep = action.step !== null && action.step === view.current_step;
  const resumes = Boolean(view.waiting_since) && action.path === "information-received";
  const open = isStep || resumes || action.path in drafts;
  return el("details", { class: "kartu aksi", "data-action": action.path, open }, el("summary", {}, action.label), form);
}

async function upload(form) {
  clearErrors(form);
  const input = form.elements.namedItem("file");
  if (!input.files.length) {
    return showProblem(form, {
      detail: "Pilih berkas lebih dulu.",
      errors: [{ field: "file", code: "missing", message: "Pilih berkas PDF, PNG atau JPEG." }],
    });
  }
  const data = new FormData();
  data.append("file", input.files[0]);
  const answer = await api(`${casePath}/attachments`, { method: "POST", form: data });
  if (!answer.ok) return showProblem(form, answer.problem);
  view = answer.data;
  return render(notice("berhasil", `Lampiran diunggah: ${input.files[0].name}.`));
}

function uploadForm() {
  const form = el(
    "form",
    { novalidate: true, "data-action": "attachments" },
    el(
      "div",
      { class: "kolom", "data-field": "file" },
      el("label", { for: "lampiran-berkas" }, "Berkas (PDF, PNG atau JPEG)"),
      el("input", { id: "lampiran-berkas", type: "file", name: "file", accept: "application/pdf,image/png,image/jpeg" })
    ),
    el("button", { type: "submit" }, "Unggah")
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, () => upload(form));
  });
  return el("details", { class: "kartu aksi", "data-action": "attachments" }, el("summary", {}, "Unggah lampiran"), form);
}

function actionNodes() {
  const forms = view.allowed_actions.filter((path) => actions.has(path)).map((path) => actionForm(actions.get(path)));
  if (view.allowed_actions.includes("attachments")) forms.push(uploadForm());
  const waitingFor = view.current_step
    ? `Tidak ada langkah SOP untuk Anda di sini. Langkah ${words.step(view.kind, view.current_step)} dikerjakan oleh ${view.actors.map(words.role).join(" atau ")}.`
    : `Kasus ini sudah ditutup (${view.status_label}).`;
  const mine = officer.roles.some((role) => view.actors.includes(role));
  const note = mine ? null : el("p", { class: "kartu redup", id: "bukan-giliran" }, waitingFor);
  return [note, ...forms];
}

// ---- the page ------------------------------------------------------------------------------

function render(message) {
  const context = { view, words };
  document.title = `${words.kind(view.kind)} ${view.tracking_code} — Aduan`;
  $("#judul").textContent = `${words.kind(view.kind)} ${view.tracking_code}`;
  $("#judul-pengaduan").textContent = view.kind === "consultation" ? "Pertanyaan pemohon" : "Isi pengaduan";
  $("#ringkasan").replaceChildren(el("div", {}, summaryNodes(context)));
  $("#tindakan").replaceChildren(el("div", {}, actionNodes()));
  $("#linimasa").replaceChildren(...timelineItems(context));
  $("#isi-kasus").classList.remove("tersembunyi");
  main.dataset.version = String(view.version);
  main.dataset.state = "siap";
  say(message);
}

async function showSubmission() {
  const box = $("#pengaduan");
  const answer = await api(`/intake/v1/submissions/${encodeURIComponent(caseId)}`);
  if (answer.ok) return box.replaceChildren(el("div", {}, submissionNodes(answer.data)));
  const reasons = { 403: "Isi pengaduan tidak ditampilkan untuk peran Anda.", 404: "Isi pengaduan tidak ditemukan." };
  return box.replaceChildren(
    el("p", { class: "redup", id: "pengaduan-tertutup" }, reasons[answer.status] || "Isi pengaduan tidak dapat dimuat.", " ", answer.problem.detail)
  );
}

// ---- messages to the complainant (intake's deliveries) --------------------------------------

const deliveriesPath = `/intake/v1/submissions/${encodeURIComponent(caseId)}/deliveries`;

function retryButton(delivery) {
  const button = el("button", { type: "button", class: "kecil" }, "Kirim ulang");
  button.addEventListener("click", async () => {
    button.disabled = true;
    const answer = await api(`${deliveriesPath}/${encodeURIComponent(delivery.id)}/retry`, { method: "POST" });
    if (!answer.ok) {
      button.disabled = false;
      return say(notice("galat", "Pesan tidak dapat dikirim ulang. ", answer.problem.detail));
    }
    return showDeliveries();
  });
  return button;
}

function deliveryRow(delivery) {
  const when = delivery.sent_at || delivery.failed_at || delivery.created_at;
  const failed = delivery.state === "failed";
  return el(
    "tr",
    { "data-delivery": delivery.id, "data-state": delivery.state, class: failed ? "terlambat" : null },
    el("td", {}, delivery.purpose_label),
    el("td", {}, delivery.channel_label),
    el("td", {}, failed ? el("strong", {}, delivery.state_label) : delivery.state_label),
    el("td", { class: "angka" }, String(delivery.attempts)),
    el("td", {}, formatDateTime(when)),
    el("td", {}, delivery.last_error || "–", failed ? [" ", retryButton(delivery)] : [])
  );
}

async function showDeliveries() {
  const box = $("#pengiriman");
  const answer = await api(deliveriesPath);
  if (!answer.ok) return box.replaceChildren(el("p", { class: "redup" }, "Pengiriman pesan tidak dapat dimuat. ", answer.problem.detail));
  if (!answer.data.length) {
    return box.replaceChildren(el("p", { class: "redup", id: "tanpa-pesan" }, "Tidak ada pesan kepada pemohon (tanpa alamat atau kanal balasan)."));
  }
  const failed = answer.data.filter((delivery) => delivery.state === "failed").length;
  const head = ["Pesan", "Kanal", "Keadaan", "Percobaan", "Waktu", "Keterangan"];
  return box.replaceChildren(
    failed ? notice("galat", `${failed} pesan gagal dikirim kepada pemohon. Periksa kanalnya lalu kirim ulang.`) : "",
    el(
      "div",
      { class: "gulir" },
      el(
        "table",
        { id: "daftar-pengiriman" },
        el("caption", { class: "visually-hidden" }, "Pesan kepada pemohon"),
        el("thead", {}, el("tr", {}, head.map((text) => el("th", { scope: "col" }, text)))),
        el("tbody", {}, answer.data.map(deliveryRow))
      )
    )
  );
}

async function start() {
  if (!caseId) return fail({ status: 404, problem: { detail: "Buka kasus dari daftar kerja atau pencarian." } });
  const [found, listed] = await Promise.all([api(casePath), api("/workflow/v1/actions")]);
  if (listed.ok) actions = new Map(listed.data.map((action) => [action.path, action]));
  if (!found.ok) return fail(found);
  view = found.data;
  render(null);
  return Promise.all([showSubmission(), showDeliveries()]);
}

start();
