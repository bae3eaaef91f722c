// The tracking page (/lacak?kode=XXXX-XXXX): where a case stands, and its public answer. With the
// receipt secret (#kunci= in the link, or typed) it is the complainant's own view: the history,
// what the office asks, the answer, their messages, a reply form and "Sudah selesai?".
import {
  $,
  FILE_LIMITS,
  api,
  busy,
  chosenFiles,
  clearErrors,
  describeFiles,
  el,
  formOptions,
  formatDate,
  formatDateTime,
  inGroup,
  onField,
  query,
  showProblem,
  siteHeader,
  staleNote,
  vocabulary,
} from "/aset/app.js";

vocabulary(); // the status groups (no copy kept here), loading while the code is typed

siteHeader();
const form = $("#lacak");
const input = $("#kode");
const secretInput = $("#kunci");
const result = $("#hasil");
const mine = $("#milik-saya");
const SECRET_HEADER = "X-Aduan-Receipt-Secret";
const KEPT = "aduan.kunci"; // this tab only: the secret survives a reload, never the address
let current = null; // {code, secret} of the complainant's own view shown

function ownHeaders(secret) {
  return secret ? { [SECRET_HEADER]: secret } : {};
}

function row(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function details(tracking, words) {
  const closed = inGroup(words, "closed", tracking.status);
  const answered = inGroup(words, "answered", tracking.status); // not merged, not archived
  const look = inGroup(words, "waiting", tracking.status) ? "menunggu" : answered ? "selesai" : "";
  const badge = el("span", { class: `lencana ${look}` }, tracking.status_label);
  const rows = [row("Status", badge)];
  if (tracking.kind_label) rows.unshift(row("Jenis", tracking.kind_label));
  if (tracking.current_step_label && !closed) {
    rows.push(row("Tahap saat ini", tracking.current_step_label));
  }
  if (tracking.received_at) rows.push(row("Diterima", formatDateTime(tracking.received_at)));
  if (tracking.deadline_at && !tracking.closed_at) {
    rows.push(row("Batas waktu penyelesaian", formatDate(tracking.deadline_at)));
  }
  if (tracking.closed_at) {
    rows.push(row(answered ? "Selesai" : "Ditutup", formatDateTime(tracking.closed_at)));
  }
  if (tracking.channel_label) rows.push(row("Disampaikan melalui", tracking.channel_label));
  if (!tracking.kind) {
    rows.push(row("Catatan", "Pengaduan ini dirahasiakan: rinciannya hanya dapat dilihat petugas."));
  }
  return rows.flat();
}

function show(tracking, stale, words) {
  $("#judul-hasil").textContent = `Nomor tiket ${tracking.tracking_code}`;
  $("#catatan-data").replaceChildren(staleNote(stale) || "");
  $("#rincian").replaceChildren(...details(tracking, words));
  $("#teks-jawaban").textContent = tracking.answer || "";
  $("#jawaban").classList.toggle("tersembunyi", !tracking.answer);
  $("#tautan-survei").href = `/survei?kode=${encodeURIComponent(tracking.tracking_code)}`;
  // Closed with an answer: the SKM may follow.
  $("#ajakan-survei").classList.toggle("tersembunyi", !inGroup(words, "answered", tracking.status));
  result.classList.remove("tersembunyi");
}

function item(entry) {
  const step = entry.step_label ? ` (${entry.step_label})` : "";
  return el(
    "li",
    { "data-event": entry.event },
    el("time", { datetime: entry.at }, formatDateTime(entry.at)),
    " — ",
    el("strong", {}, entry.label),
    step,
    entry.message ? el("p", { class: "teks-jawaban" }, entry.message) : null
  );
}

async function showMessages(code, secret) {
  const answer = await api(`/intake/v1/own/${encodeURIComponent(code)}/messages`, {
    auth: false,
    headers: ownHeaders(secret),
  });
  const list = answer.ok ? answer.data : [];
  $("#pesan-saya").replaceChildren(
    ...list.map((message) =>
      el(
        "li",
        {},
        el("time", { datetime: message.received_at }, formatDateTime(message.received_at)),
        el("p", { class: "teks-jawaban" }, message.text),
        message.attachments.length ? el("p", { class: "redup" }, `Lampiran: ${message.attachments.join(", ")}`) : null
      )
    )
  );
}

function showOwn(tracking, words, { keepAnswers = false } = {}) {
  // The survey opens with the secret (show() set the public link).
  $("#tautan-survei").href =
    `/survei?kode=${encodeURIComponent(current.code)}#kunci=${encodeURIComponent(current.secret)}`;
  // An officer may ask without a message for the complainant (its reason is the office's own):
  // the box then still says what is wanted, never nothing.
  $("#teks-permintaan").textContent =
    tracking.request || "Petugas memerlukan keterangan atau dokumen tambahan dari Anda.";
  $("#permintaan").classList.toggle("tersembunyi", tracking.request === null || tracking.request === undefined);
  $("#riwayat-pemohon").replaceChildren(...(tracking.history || []).map(item));
  $("#selesai-tanya").classList.toggle("tersembunyi", !inGroup(words, "answered", tracking.status));
  if (!keepAnswers) $("#hasil-selesai").replaceChildren();
  mine.classList.remove("tersembunyi");
}

async function track() {
  result.classList.add("tersembunyi");
  mine.classList.add("tersembunyi");
  const code = input.value.trim();
  const secret = secretInput.value.trim();
  if (!code) {
    const message = "Masukkan nomor tiket.";
    return showProblem(form, { detail: message, errors: [{ field: "code", code: "missing", message }] });
  }
  history.replaceState(null, "", `/lacak?kode=${encodeURIComponent(code)}`); // never the secret
  const [answer, words] = await Promise.all([
    api(`/reporting/v1/track/${encodeURIComponent(code)}`, { auth: false, headers: ownHeaders(secret) }),
    vocabulary(),
  ]);
  if (!answer.ok) {
    // An unknown or mistyped code is told next to the field, a wrong secret next to its own;
    // other failures at the top.
    const field = answer.status === 404 ? "code" : [403, 429].includes(answer.status) && secret ? "secret" : null;
    return showProblem(form, field ? onField(answer.problem, field) : answer.problem);
  }
  clearErrors(form);
  input.value = answer.data.tracking_code;
  show(answer.data, answer.stale, words);
  current = answer.data.own ? { code: answer.data.tracking_code, secret } : null;
  if (current) {
    sessionStorage.setItem(KEPT, JSON.stringify(current));
    showOwn(answer.data, words);
    await showMessages(current.code, secret);
  }
}

async function reply() {
  const replyForm = $("#balas");
  $("#hasil-balas").replaceChildren(); // an earlier reply's success is not this one's
  const text = $("#teks-balas").value.trim();
  if (text.length < 10) {
    const message = "Tulis balasan paling sedikit 10 karakter.";
    return showProblem(replyForm, { detail: message, errors: [{ field: "text", code: "too_short", message }] });
  }
  const { files, problem } = chosenFiles($("#berkas-balas"), (await formOptions()) || FILE_LIMITS);
  if (problem) return showProblem(replyForm, problem);
  const data = new FormData();
  data.append("text", text);
  for (const file of files) data.append("files", file);
  const answer = await api(`/intake/v1/own/${encodeURIComponent(current.code)}/replies`, {
    method: "POST",
    form: data,
    auth: false,
    headers: ownHeaders(current.secret),
  });
  if (!answer.ok) return showProblem(replyForm, answer.problem);
  clearErrors(replyForm);
  replyForm.reset();
  $("#hasil-balas").replaceChildren(el("p", { class: "kotak-berhasil" }, answer.data.message));
  await showMessages(current.code, current.secret);
  // A reply to a request for information resumes the case: where it stands is shown once the
  // office has it (a moment), not only after a reload.
  for (let tries = 0; tries < 20 && !$("#permintaan").classList.contains("tersembunyi"); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await refresh();
  }
}

/** The case's view again, quietly (the form and the messages stay as they are). */
async function refresh() {
  const [answer, words] = await Promise.all([
    api(`/reporting/v1/track/${encodeURIComponent(current.code)}`, { auth: false, headers: ownHeaders(current.secret) }),
    vocabulary(),
  ]);
  if (!answer.ok) return;
  show(answer.data, answer.stale, words);
  if (answer.data.own) showOwn(answer.data, words, { keepAnswers: true });
}

async function resolution(solved) {
  const buttons = [$("#sudah"), $("#belum")];
  for (const button of buttons) button.disabled = true; // one answer, not two racing
  let answer;
  try {
    answer = await api(`/intake/v1/own/${encodeURIComponent(current.code)}/resolution`, {
      method: "POST",
      json: { solved },
      auth: false,
      headers: ownHeaders(current.secret),
    });
  } finally {
    for (const button of buttons) button.disabled = false;
  }
  const box = $("#hasil-selesai");
  if (!answer.ok) return box.replaceChildren(el("p", { class: "kotak-galat" }, answer.problem.detail));
  const survey = solved ? el("a", { class: "tombol", href: $("#tautan-survei").href }, "Isi survei kepuasan") : null;
  box.replaceChildren(el("p", { class: "kotak-berhasil" }, answer.data.message), survey || "");
}

$("#balas").addEventListener("submit", (event) => {
  event.preventDefault();
  if (current) busy($("#balas"), reply);
});
$("#sudah").addEventListener("click", () => current && resolution(true));
$("#belum").addEventListener("click", () => current && resolution(false));

form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, track);
});
// Disabled in the page until here: Enter before the script listens must not send the code and
// the secret in a GET (proxy logs, history); the fields carry no names for the same reason.
form.querySelector("button[type=submit]").disabled = false;
const given = query("kode");
const fromLink = new URLSearchParams(location.hash.slice(1)).get("kunci");
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
// Kept at once: the link's fragment is gone from the address, a reload must still open it.
if (given && fromLink) sessionStorage.setItem(KEPT, JSON.stringify({ code: given.toUpperCase(), secret: fromLink }));
const kept = JSON.parse(sessionStorage.getItem(KEPT) || "null");
formOptions().then((limits) => limits && describeFiles($("#berkas-balas"), $("#bantuan-berkas"), limits, "Foto atau dokumen"));
if (given) {
  input.value = given;
  secretInput.value = fromLink || (kept && kept.code === given.toUpperCase() ? kept.secret : "");
  busy(form, track);
}
