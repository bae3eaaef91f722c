// The public tracking page (/lacak?kode=XXXX-XXXX): where a case stands, and its public answer.
import {
  $,
  api,
  busy,
  clearErrors,
  el,
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
const result = $("#hasil");

function row(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function details(tracking, words) {
  const closed = inGroup(words, "closed", tracking.status);
  const look = inGroup(words, "waiting", tracking.status) ? "menunggu" : closed ? "selesai" : "";
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
  if (tracking.closed_at) rows.push(row("Selesai", formatDateTime(tracking.closed_at)));
  if (tracking.channel_label) rows.push(row("Disampaikan melalui", tracking.channel_label));
  if (!tracking.kind) {
    rows.push(row("Catatan", "Pengaduan ini dirahasiakan: rinciannya hanya dapat dilihat petugas."));
  }
  return rows.flat();
}

function show(tracking, stale, words) {
  $("#judul-hasil").textContent = `Kode ${tracking.tracking_code}`;
  $("#catatan-data").replaceChildren(staleNote(stale) || "");
  $("#rincian").replaceChildren(...details(tracking, words));
  $("#teks-jawaban").textContent = tracking.answer || "";
  $("#jawaban").classList.toggle("tersembunyi", !tracking.answer);
  $("#tautan-survei").href = `/survei?kode=${encodeURIComponent(tracking.tracking_code)}`;
  // Closed with an answer: the SKM may follow.
  $("#ajakan-survei").classList.toggle("tersembunyi", !inGroup(words, "answered", tracking.status));
  result.classList.remove("tersembunyi");
}

async function track() {
  result.classList.add("tersembunyi");
  const code = input.value.trim();
  if (!code) {
    const message = "Masukkan kode pelacakan.";
    return showProblem(form, { detail: message, errors: [{ field: "code", code: "missing", message }] });
  }
  history.replaceState(null, "", `/lacak?kode=${encodeURIComponent(code)}`);
  const [answer, words] = await Promise.all([
    api(`/reporting/v1/track/${encodeURIComponent(code)}`, { auth: false }),
    vocabulary(),
  ]);
  if (!answer.ok) {
    // An unknown or mistyped code is told next to the field; other failures at the top.
    return showProblem(form, answer.status === 404 ? onField(answer.problem, "code") : answer.problem);
  }
  clearErrors(form);
  input.value = answer.data.tracking_code;
  show(answer.data, answer.stale, words);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, track);
});
const given = query("kode");
if (given) {
  input.value = given;
  busy(form, track);
}
