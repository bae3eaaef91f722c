// How a case reads on its page: the summary, the SOP steps, what the complainant wrote and the
// timeline (who did what, when, at which step, with what details).
import { download, el, formatDate, formatDateTime, formatWorkingMinutes } from "/aset/app.js";
import { badges, caseLink, notice } from "/aset/petugas.js";

// Labels of the details events carry; the order here is the order shown.
const DETAIL_LABELS = {
  channel: "Kanal",
  category: "Kategori",
  received_at: "Diterima",
  anonymous: "Anonim",
  confidential: "Rahasia",
  to_role: "Kepada",
  instruction: "Isi disposisi",
  note: "Catatan",
  text: "Catatan",
  summary: "Ringkasan",
  related_agencies: "Instansi terkait",
  bap: "Berita Acara Pemeriksaan",
  date: "Tanggal pemeriksaan",
  place: "Tempat",
  parties_present: "Pihak yang hadir",
  findings: "Temuan",
  conclusion: "Kesimpulan",
  attachment_ids: "Lampiran",
  action: "Tindak lanjut",
  answer: "Jawaban untuk pemohon",
  archive_ref: "Nomor arsip",
  bkpm_reference: "Nomor rujukan BKPM",
  bkpm_answer: "Jawaban BKPM",
  reason: "Alasan",
  referred_to: "Dirujuk ke",
  from_agency: "Dari instansi",
  to_agency: "Ke instansi",
  primary_case_id: "Kasus utama",
  duplicate_case_id: "Kasus duplikat",
  filename: "Nama berkas",
  content_type: "Jenis berkas",
  size: "Ukuran",
  paused_minutes: "Lama menunggu",
  working_minutes: "Waktu kerja langkah ini",
  within_standard: "Sesuai mutu baku",
  next_step: "Langkah berikutnya",
  step_due_at: "Batas waktu langkah berikutnya",
  deadline_at: "Tenggat penyelesaian",
};
const CONTACT_LABELS = {
  name: "Nama",
  phone: "Telepon",
  email: "Email",
  nik: "NIK",
  address: "Alamat",
  account: "Akun",
  account_channel: "Kanal akun",
};

/** Free text with the personal data found in it (`spans`: kind, label, start, end) marked. */
export function marked(text, spans) {
  if (!spans || !spans.length) return text;
  const nodes = [];
  let at = 0;
  for (const { kind, label, start, end } of spans) {
    nodes.push(text.slice(at, start));
    nodes.push(el("mark", { class: "pribadi", "data-kind": kind, title: `Data pribadi: ${label}` }, text.slice(start, end)));
    at = end;
  }
  nodes.push(text.slice(at));
  return nodes;
}

function definitions(pairs) {
  const shown = pairs.filter(([, value]) => value !== null && value !== undefined && value !== "");
  return el(
    "dl",
    { class: "rincian" },
    shown.flatMap(([term, value]) => {
      const wide = value instanceof HTMLDListElement ? "penuh" : null; // a record within: full width
      return [el("dt", { class: wide }, term), el("dd", { class: wide }, value)];
    })
  );
}

/** One detail value as people read it. */
function detailValue(key, value, context) {
  const { words, view } = context;
  if (value === null || value === undefined || value === "") return null;
  if (Array.isArray(value)) {
    if (!value.length) return null;
    const item = key === "attachment_ids" ? (id) => attachmentLabel(id, context) : (text) => text;
    return el("ul", {}, value.map((entry) => el("li", {}, item(entry))));
  }
  if (typeof value === "object") {
    return definitions(Object.entries(value).map(([k, v]) => [DETAIL_LABELS[k] || k, detailValue(k, v, context)]));
  }
  if (typeof value === "boolean") return value ? "Ya" : "Tidak";
  switch (key) {
    case "date":
      return formatDate(value);
    case "received_at":
    case "step_due_at":
    case "deadline_at":
      return formatDateTime(value);
    case "next_step":
      return words.step(view.kind, value);
    case "to_role":
      return words.role(value);
    case "channel":
      return words.channel(value);
    case "category":
      return words.category(value);
    case "working_minutes":
    case "paused_minutes":
      return formatWorkingMinutes(value);
    case "primary_case_id":
    case "duplicate_case_id":
      return caseLink(value, "buka kasus"); // its id is for programs, not for reading
    case "content_type":
      return String(value).split("/").pop().toUpperCase(); // PDF, PNG, JPEG
    case "size":
      return `${Math.max(1, Math.round(value / 1024))} KB`;
    default:
      return String(value);
  }
}

function attachments(view) {
  return view.timeline.filter((entry) => entry.event === "AttachmentAdded").map((entry) => entry.details);
}

function downloadButton(path, filename) {
  const button = el("button", { type: "button", class: "kedua kecil" }, `Unduh ${filename}`);
  button.addEventListener("click", () =>
    download(path, filename).catch((error) => button.after(el("p", { class: "galat", role: "alert" }, error.message)))
  );
  return button;
}

function attachmentLabel(id, { view }) {
  const found = attachments(view).find((details) => details.attachment_id === id);
  if (!found) return id;
  return downloadButton(`/workflow/v1/cases/${view.case_id}/attachments/${id}`, found.filename);
}

function labelOf(key, details) {
  // A step's completion says when the next step is due; a resumed or reopened case, this one.
  return key === "step_due_at" && !("next_step" in details) ? "Batas waktu langkah" : DETAIL_LABELS[key];
}

// Flags worth a line only when set.
const ONLY_WHEN_SET = new Set(["anonymous", "confidential"]);

function entryDetails(entry, context) {
  const hidden = entry.event === "CaseOpened" ? new Set(["next_step", "step_due_at"]) : new Set();
  const pairs = Object.keys(DETAIL_LABELS)
    .filter((key) => key in entry.details && !hidden.has(key))
    .filter((key) => !ONLY_WHEN_SET.has(key) || entry.details[key])
    .map((key) => {
      const spans = (entry.pii || {})[key];
      const value = spans ? el("span", {}, marked(entry.details[key], spans)) : detailValue(key, entry.details[key], context);
      return [labelOf(key, entry.details), value];
    });
  const list = definitions(pairs);
  if (entry.event === "AttachmentAdded") {
    const { view } = context;
    const { attachment_id: id, filename } = entry.details;
    list.append(el("dt", {}, "Berkas"), el("dd", {}, downloadButton(`/workflow/v1/cases/${view.case_id}/attachments/${id}`, filename)));
  }
  return list;
}

/** The timeline, oldest first. */
export function timelineItems(context) {
  const { view, words } = context;
  return view.timeline.map((entry) => {
    // by name (an event from before names, by an unknown account: the role alone, never an id)
    const who = entry.role_label ? `oleh ${entry.by_name ? `${entry.by_name} (${entry.role_label})` : entry.role_label}` : "oleh sistem";
    const opened = entry.event === "CaseOpened";
    const where = entry.step ? `${opened ? "Masuk ke langkah" : "Langkah"} ${words.step(view.kind, entry.step)}` : null;
    return el(
      "li",
      { "data-event": entry.event, "data-step": entry.step || "" },
      el("div", {}, el("strong", {}, entry.label), " ", el("span", { class: "waktu" }, formatDateTime(entry.at))),
      el("div", { class: "redup" }, [where, who].filter(Boolean).join(" · ")),
      entryDetails(entry, context)
    );
  });
}

/** The case's SOP steps: done, the current one, still to come. */
function sopSteps({ view, words }) {
  const steps = (words.words.steps[view.kind] || []).filter((step) => step.per_case);
  const done = new Set(["submission"]);
  for (const entry of view.timeline) if (entry.details && "next_step" in entry.details) done.add(entry.step);
  return el(
    "ol",
    { class: "sop", "aria-label": "Langkah SOP" },
    steps.map((step) => {
      const state = step.id === view.current_step ? "sekarang" : done.has(step.id) ? "selesai" : "";
      const mark = state === "sekarang" ? " (sekarang)" : state === "selesai" ? " ✓" : "";
      return el("li", { class: state || null, "aria-current": state === "sekarang" ? "step" : null }, `${step.number}. ${step.label}${mark}`);
    })
  );
}

/** The summary card: status, step, due dates, channel, the answer. */
export function summaryNodes(context) {
  const { view, words } = context;
  const waiting = Boolean(view.waiting_since);
  const overdue = Boolean(!view.imported && view.step_due_at && !waiting && new Date(view.step_due_at) <= new Date());
  const flags = [
    view.anonymous ? el("span", { class: "lencana" }, "Anonim") : null,
    view.confidential ? el("span", { class: "lencana" }, "Rahasia") : null,
    view.imported ? el("span", { class: "lencana", id: "lencana-impor" }, "Impor buku register") : null,
  ].filter(Boolean);
  const step = `${words.step(view.kind, view.current_step)} — oleh ${view.actors.map(words.role).join(" atau ")}`;
  return [
    el("div", { class: "baris" }, badges({ status: view.status, status_label: view.status_label, waiting, overdue }), flags),
    sopSteps(context),
    definitions([
      ["Langkah sekarang", view.current_step ? step : null],
      ["Batas waktu langkah", view.current_step ? formatDateTime(view.step_due_at) : null],
      ["Tenggat penyelesaian", formatDateTime(view.deadline_at)],
      ["Menunggu pemohon sejak", view.waiting_since ? formatDateTime(view.waiting_since) : null],
      ["Ditutup", view.closed_at ? formatDateTime(view.closed_at) : null],
      ["Jawaban untuk pemohon", view.answer ? el("span", {}, marked(view.answer, view.answer_pii)) : null],
      ["Kanal", words.channel(view.channel)],
      ["Kategori", words.category(view.category)],
      ["Diterima", formatDateTime(view.received_at)],
      ["Digabung ke", view.merged_into ? caseLink(view.merged_into, "kasus utama") : null],
      ["Duplikat", view.duplicates.length ? view.duplicates.map((id) => el("div", {}, caseLink(id, id))) : null],
    ]),
  ];
}

function contactNodes(submission) {
  if (submission.anonymous) return el("p", { class: "redup" }, "Pemohon memilih anonim: identitasnya tidak dicatat.");
  const contact = submission.contact;
  if (!contact) return el("p", { class: "redup" }, "Tanpa kontak.");
  if (typeof contact === "string") {
    return el("p", { class: "redup" }, contact === "disembunyikan" ? "Identitas pemohon tidak ditampilkan untuk peran Anda." : contact);
  }
  return definitions(Object.entries(CONTACT_LABELS).map(([key, label]) => [label, contact[key]]));
}

/** The files of one message, each to download (a follow-up message's are its own list). */
function fileList(caseId, files) {
  const base = `/intake/v1/submissions/${caseId}/attachments`;
  return el("ul", { class: "lampiran-pemohon" }, files.map((file) => el("li", {}, downloadButton(`${base}/${file.id}`, file.filename || "lampiran"))));
}

function submissionFiles(submission) {
  if (!submission.attachments.length) return null;
  return el("div", {}, el("h3", {}, "Lampiran pemohon"), fileList(submission.case_id, submission.attachments));
}

/** A mail intake could not read fully: what is shown is what could be decoded. */
function unreadableNotice(reasons) {
  if (!reasons || !reasons.length) return null;
  return notice("galat", `Surat tidak terbaca: ${reasons.join("; ")}. Yang tampil adalah bagian yang dapat dibaca; surat aslinya ada di lampiran (surat-asli.eml).`);
}

/** A message as the complainant left it: withdrawn or edited (its earlier words), what could
 * not be read, and the files that came with it but could not be kept. */
function messageNodes(message) {
  const revisions = message.revisions || [];
  const refused = message.refused || [];
  return [
    message.withdrawn_at ? el("p", { class: "redup" }, `Ditarik pemohon pada ${formatDateTime(message.withdrawn_at)}.`) : null,
    unreadableNotice(message.unreadable),
    message.text || !refused.length ? el("blockquote", { class: "isi" }, marked(message.text, message.pii)) : null,
    revisions.length
      ? el(
          "details",
          {},
          el("summary", {}, `Diubah pemohon ${revisions.length} kali`),
          revisions.map((r) => el("div", {}, el("p", { class: "waktu redup" }, `sampai ${formatDateTime(r.until)}`), el("blockquote", { class: "isi" }, r.text)))
        )
      : null,
    refused.length
      ? el("ul", { class: "redup" }, refused.map((f) => el("li", {}, `Berkas tidak diterima: ${f.filename} — ${f.reason}`)))
      : null,
  ];
}

/** What the complainant wrote, and who they are as far as this role may know. */
export function submissionNodes(submission) {
  return [
    submission.erased ? notice("galat", "Data pribadi pemohon sudah dihapus atas permintaannya.") : null,
    ...messageNodes(submission),
    el("h3", {}, "Pemohon"),
    contactNodes(submission),
    submissionFiles(submission),
    submission.parts.length
      ? el(
          "div",
          {},
          el("h3", {}, "Pesan lanjutan"),
          submission.parts.map((part) =>
            el(
              "div",
              {},
              el("p", { class: "waktu redup" }, formatDateTime(part.received_at)),
              ...messageNodes(part),
              part.attachments && part.attachments.length ? fileList(submission.case_id, part.attachments) : null
            )
          )
        )
      : null,
  ];
}
