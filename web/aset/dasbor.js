// The leadership's dashboard: a month against the one before, charts drawn by the reporting
// service (SVG), the tables as CSV/XLSX, and the monthly recap files.
import {
  $, api, download, el, formatNumber, formatShare, query, session, showProblem, siteHeader, TIME_ZONE,
} from "/aset/app.js";

const current = siteHeader();
const form = $("#pilih-bulan");
const monthInput = $("#bulan");
const PRODUCERS = ["tim_pengaduan", "admin", "kepala_dinas", "sekretaris"];
const DOWNLOADERS = [...PRODUCERS, "petugas", "kabid", "petugas_oss", "analis"];

function thisMonth() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}`;
}

function chosen() {
  const [year, month] = (monthInput.value || thisMonth()).split("-").map(Number);
  return { year, month };
}

function table(node, header, rows) {
  node.replaceChildren(
    el("thead", {}, el("tr", {}, header.map(([text, numeric]) => el("th", { scope: "col", class: numeric ? "angka" : null }, text)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell, i) =>
      i === 0 ? el("th", { scope: "row" }, cell) : el("td", { class: "angka" }, cell))))),
  );
}

/** A chart that did not load says so in words instead of a broken image. */
function chartNote(image, text) {
  const figure = image.closest("figure");
  let note = figure.querySelector("figcaption.kotak-info");
  if (!text) {
    note?.remove();
    image.classList.remove("tersembunyi");
    return;
  }
  if (!note) figure.append((note = el("figcaption", { class: "kotak-info", role: "status" })));
  note.textContent = text;
  image.classList.add("tersembunyi");
}

function card(label, value, note, id) {
  return el("div", { class: "kartu", "data-angka": id },
    el("div", { class: "redup" }, label),
    el("div", { class: "angka-besar" }, value),
    note ? el("div", { class: "redup" }, note) : null);
}

function change(now, before) {
  if (!before) return now ? "bulan lalu: 0" : "sama dengan bulan lalu";
  const percent = Math.round(((now - before) / before) * 100);
  return `${percent >= 0 ? "naik" : "turun"} ${Math.abs(percent)}% dari bulan lalu (${formatNumber(before)})`;
}

function downloads({ year, month }) {
  for (const holder of document.querySelectorAll(".unduh[data-tabel]")) {
    const name = holder.dataset.tabel;
    holder.replaceChildren(
      "Unduh tabel: ",
      ...["csv", "xlsx"].map((fmt) =>
        el("a", {
          class: "tombol kedua",
          href: `/reporting/v1/dashboard/${name}.${fmt}?year=${year}&month=${month}`,
          download: `dasbor-${name}-${year}-${String(month).padStart(2, "0")}.${fmt}`,
        }, fmt.toUpperCase())),
    );
  }
}

async function recap({ year, month }) {
  const status = $("#status-rekap");
  const buttons = $("#tombol-rekap");
  buttons.replaceChildren();
  const roles = session()?.roles || [];
  const info = await api(`/reporting/v1/recaps/${year}/${month}`, { auth: false });
  const label = `${year}-${String(month).padStart(2, "0")}`;
  if (info.ok) {
    status.textContent = `Rekap ${label} dibuat ${new Date(info.data.produced_at).toLocaleString("id-ID", { timeZone: TIME_ZONE })} WIB.`;
    if (roles.some((r) => DOWNLOADERS.includes(r))) {
      for (const fmt of ["xlsx", "pdf"]) {
        buttons.append(el("button", {
          type: "button",
          onclick: () => download(info.data[`${fmt}_url`], `rekap-${label}.${fmt}`).catch((e) => alert(e.message)),
        }, `Unduh rekap ${fmt.toUpperCase()}`));
      }
    } else {
      status.append(" Masuk sebagai petugas atau analis untuk mengunduh.");
    }
  } else {
    status.textContent = `Rekap ${label} belum dibuat.`;
  }
  if (roles.some((r) => PRODUCERS.includes(r))) {
    buttons.append(el("button", {
      type: "button",
      class: "kedua",
      onclick: async () => {
        const made = await api(`/reporting/v1/recaps/${year}/${month}`, { method: "POST" });
        if (!made.ok) status.textContent = made.problem.detail;
        await recap({ year, month });
      },
    }, info.ok ? "Buat ulang rekap" : "Buat rekap sekarang"));
  }
}

async function show() {
  const { year, month } = chosen();
  const answer = await api(`/reporting/v1/dashboard?year=${year}&month=${month}`, { auth: false });
  if (!answer.ok) return showProblem(form, answer.problem);
  const board = answer.data;
  const now = board.this_month;
  const before = board.previous_month;
  document.querySelector("[data-isi=bulan-ini]").textContent = now.label;
  const t = board.timeliness;
  const skm = board.satisfaction;
  $("#ringkas").replaceChildren(
    card("Diterima bulan ini", formatNumber(now.total), change(now.total, before.total), "total"),
    card("Pengaduan", formatNumber(now.complaints), `bulan lalu ${formatNumber(before.complaints)}`, "pengaduan"),
    card("Konsultasi", formatNumber(now.consultations), `bulan lalu ${formatNumber(before.consultations)}`, "konsultasi"),
    card("Selesai ≤ 14 hari kerja", formatShare(t.on_time_share),
      `${formatNumber(t.on_time)} tepat waktu, ${formatNumber(t.late)} terlambat, ${formatNumber(t.open)} masih diproses`, "tepat-waktu"),
    card("Melewati waktu standar langkah", formatNumber(board.overdue_open),
      `${formatNumber(board.past_deadline_open)} melewati tenggat 14 hari kerja (semua kasus terbuka)`, "terlambat"),
    card("Indeks kepuasan (SKM)", skm.index === null ? "–" : skm.index.toFixed(2),
      skm.index === null ? "belum ada survei bulan ini" : `mutu ${skm.grade} (${skm.grade_label}), ${skm.responses} responden`, "skm"),
  );
  table($("#tabel-kanal"), [["Kanal"], [now.label, true], [before.label, true]],
    board.by_channel.map((r) => [r.label, formatNumber(r.this_month), formatNumber(r.previous_month)]));
  table($("#tabel-status"), [["Status"], ["Jumlah", true]],
    board.by_status.map((r) => [r.label, formatNumber(r.count)]));
  table($("#tabel-waktu"), [["Ketepatan waktu"], ["Jumlah", true]], [
    ["Selesai ≤ 14 hari kerja", formatNumber(t.on_time)],
    ["Terlambat", formatNumber(t.late)],
    ["Masih diproses", formatNumber(t.open)],
  ]);
  table($("#tabel-sop"),
    [["Langkah SOP"], ["Standar (menit)", true], ["Jumlah", true], ["Sesuai standar", true], ["Median (menit)", true]],
    board.compliance.map((r) => [`${r.number}. ${r.label}`, formatNumber(r.standard_minutes), formatNumber(r.count),
      formatShare(r.within_standard_share), r.median_minutes === null ? "–" : formatNumber(r.median_minutes)]));
  for (const chart of ["channels", "status", "compliance", "trend"]) {
    const image = $(`#grafik-${chart}`);
    image.onerror = () => chartNote(image, "Grafik sedang tidak dapat dimuat; silakan coba lagi beberapa saat lagi.");
    image.onload = () => chartNote(image, null);
    image.src = `/reporting/v1/dashboard/${chart}.svg?year=${year}&month=${month}`;
  }
  downloads({ year, month });
  await recap({ year, month });
  history.replaceState(null, "", `?bulan=${year}-${String(month).padStart(2, "0")}`);
}

monthInput.value = query("bulan") || thisMonth();
form.addEventListener("submit", (event) => {
  event.preventDefault();
  show();
});
show();
