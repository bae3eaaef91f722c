// The leadership's dashboard: a month against the one before, charts drawn by the reporting
// service (SVG), the tables as CSV/XLSX, the cases behind every count, and the monthly recap.
import {
  $, api, download, el, formatDate, formatNumber, formatShare, query, session, showProblem, siteHeader, TIME_ZONE,
} from "/aset/app.js";

siteHeader();
const form = $("#pilih-bulan");
const monthInput = $("#bulan");
const PRODUCERS = ["tim_pengaduan", "admin", "kepala_dinas", "sekretaris"];
const DOWNLOADERS = [...PRODUCERS, "petugas", "kabid", "petugas_oss", "analis"];
const TIMELINESS = ["on_time", "late_closed", "late_open", "running", "uncounted"];

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

/** A count that leads to the list of its cases (shown below the summary). */
function counted(value, url, label) {
  return el("a", {
    href: `#daftar`,
    class: "ke-daftar",
    title: `Lihat daftar kasus: ${label}`,
    onclick: (event) => {
      event.preventDefault();
      showCases(url, label);
    },
  }, formatNumber(value));
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

async function showCases(url, label) {
  const section = $("#daftar");
  section.classList.remove("tersembunyi");
  $("#judul-daftar").textContent = `Daftar kasus: ${label}`;
  const status = $("#status-daftar");
  const list = $("#tabel-daftar");
  list.replaceChildren();
  if (!session()) {
    status.textContent = "Masuk sebagai petugas atau analis untuk melihat daftar kasus.";
    section.scrollIntoView();
    return;
  }
  const answer = await api(url);
  if (!answer.ok) {
    status.textContent = answer.problem.detail;
    return;
  }
  const cases = answer.data.cases;
  status.textContent = `${formatNumber(cases.length)} kasus.`;
  table(list, [["Nomor tiket"], ["Diterima"], ["Kanal"], ["Kategori"], ["Status"], ["Tenggat"]],
    cases.map((c) => [
      el("a", { href: `/petugas/kasus?id=${encodeURIComponent(c.case_id)}` }, c.tracking_code),
      formatDate(c.received_at), c.channel_label || "–", c.category_label || "–", c.status_label, formatDate(c.deadline_at),
    ]));
  section.scrollIntoView();
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

function recapStatus(info, label) {
  const made = new Date(info.produced_at).toLocaleString("id-ID", { timeZone: TIME_ZONE });
  let text = `Rekap ${label} nomor ${info.number} dibuat ${made} WIB`;
  if (info.revision) text += ` (diperbarui; pertama diterbitkan ${new Date(info.first_produced_at).toLocaleString("id-ID", { timeZone: TIME_ZONE })} WIB)`;
  text += ".";
  if (info.outdated) text += " Diperbarui: data bulan ini berubah sesudah rekap diterbitkan (ada catatan yang masuk terlambat); terbitkan ulang agar angkanya terkini.";
  return text;
}

async function recap({ year, month }) {
  const status = $("#status-rekap");
  const buttons = $("#tombol-rekap");
  buttons.replaceChildren();
  const roles = session()?.roles || [];
  const info = await api(`/reporting/v1/recaps/${year}/${month}`, { auth: false });
  const label = `${year}-${String(month).padStart(2, "0")}`;
  if (info.ok) {
    status.textContent = recapStatus(info.data, label);
    status.dataset.kedaluwarsa = info.data.outdated ? "ya" : "tidak";
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
    const again = info.ok && info.data.outdated ? "Terbitkan ulang rekap (diperbarui)" : "Buat ulang rekap";
    buttons.append(el("button", {
      type: "button",
      class: info.ok && info.data.outdated ? null : "kedua",
      onclick: async () => {
        const made = await api(`/reporting/v1/recaps/${year}/${month}`, { method: "POST" });
        if (!made.ok) status.textContent = made.problem.detail;
        await recap({ year, month });
      },
    }, info.ok ? again : "Buat rekap sekarang"));
  }
}

function summary(board) {
  const now = board.this_month;
  const before = board.previous_month;
  const t = board.timeliness;
  const skm = board.satisfaction;
  const f = board.figures;
  const link = (name) => counted(f[name].count, f[name].cases_url, f[name].label);
  return [
    card("Diterima bulan ini", link("all"), change(now.total, before.total), "total"),
    card("Pengaduan", link("complaints"), `bulan lalu ${formatNumber(before.complaints)}`, "pengaduan"),
    card("Konsultasi", link("consultations"), `bulan lalu ${formatNumber(before.consultations)}`, "konsultasi"),
    card("Selesai ≤ 14 hari kerja", formatShare(t.on_time_share),
      el("span", {}, link("on_time"), " tepat waktu, ", link("late_closed"), " selesai terlambat, ",
        link("late_open"), " belum selesai melewati tenggat (terlambat); ",
        link("running"), " masih dalam tenggat (belum dihitung)"), "tepat-waktu"),
    card("Pungutan liar (pungli)", board.by_category.some((r) => r.category === "pungli")
      ? counted(board.pungli, board.by_category.find((r) => r.category === "pungli").cases_url, "Pungutan liar / gratifikasi")
      : formatNumber(0), "pengaduan pungli / gratifikasi bulan ini", "pungli"),
    card("Melewati waktu standar langkah", link("overdue_open"),
      el("span", {}, link("breached_open"), " melewati tenggat 14 hari kerja (kasus berjalan, semua bulan)"), "terlambat"),
    card("Tunggakan register lama", link("imported_open"), "kasus impor yang belum selesai (tidak dihitung sebagai keterlambatan berjalan)", "impor"),
    card("Indeks kepuasan (SKM)", skm.index === null ? "–" : skm.index.toFixed(2),
      skm.index === null
        ? (skm.withheld ? `${skm.responses} responden: terlalu sedikit untuk ditampilkan` : "belum ada survei bulan ini")
        : `mutu ${skm.grade} (${skm.grade_label}), ${skm.responses} responden`, "skm"),
  ];
}

function tables(board) {
  const now = board.this_month;
  const before = board.previous_month;
  const f = board.figures;
  table($("#tabel-kanal"), [["Kanal"], [now.label, true], [before.label, true]],
    board.by_channel.map((r) => [r.label, counted(r.this_month, r.cases_url, r.label), formatNumber(r.previous_month)]));
  table($("#tabel-kategori"), [["Kategori"], ["Pengaduan", true], ["Konsultasi", true], ["Jumlah", true]],
    board.by_category.map((r) => [r.label, formatNumber(r.complaints), formatNumber(r.consultations), counted(r.total, r.cases_url, r.label)]));
  table($("#tabel-status"), [["Status"], ["Jumlah", true]],
    board.by_status.map((r) => [r.label, counted(r.count, r.cases_url, r.label)]));
  table($("#tabel-waktu"), [["Ketepatan waktu"], ["Jumlah", true]], [
    ...TIMELINESS.map((name) => [f[name].label, counted(f[name].count, f[name].cases_url, f[name].label)]),
  ]);
  $("#catatan-waktu").textContent = `${board.timeliness.note} Tepat waktu: ${formatShare(board.timeliness.on_time_share)}.`;
  table($("#tabel-sop"),
    [["Langkah SOP"], ["Standar (menit)", true], ["Jumlah", true], ["Sesuai standar", true], ["Median (menit)", true]],
    board.compliance.map((r) => [`${r.number}. ${r.label}`, formatNumber(r.standard_minutes), formatNumber(r.count),
      formatShare(r.within_standard_share), r.median_minutes === null ? "–" : formatNumber(r.median_minutes)]));
  $("#catatan-sop").textContent = board.compliance_note;
  table($("#tabel-skm"), [["Unsur"], ["Nilai rata-rata (1–4)", true]],
    board.skm_elements.map((e) => [e.label, e.mean === null ? "–" : e.mean.toFixed(2)]));
}

async function show() {
  const { year, month } = chosen();
  const answer = await api(`/reporting/v1/dashboard?year=${year}&month=${month}`, { auth: false });
  if (!answer.ok) return showProblem(form, answer.problem);
  const board = answer.data;
  document.querySelector("[data-isi=bulan-ini]").textContent = board.this_month.label;
  $("#ringkas").replaceChildren(...summary(board));
  tables(board);
  for (const chart of ["channels", "categories", "status", "compliance", "skm", "trend"]) {
    const image = $(`#grafik-${chart}`);
    image.onerror = () => chartNote(image, "Grafik sedang tidak dapat dimuat; silakan coba lagi beberapa saat lagi.");
    image.onload = () => chartNote(image, null);
    image.src = `/reporting/v1/dashboard/${chart}.svg?year=${year}&month=${month}`;
  }
  downloads({ year, month });
  await recap({ year, month });
  history.replaceState(null, "", `?bulan=${year}-${String(month).padStart(2, "0")}`);
}

monthInput.max = thisMonth(); // a month not begun has no figures (the service refuses it)
monthInput.value = query("bulan") || thisMonth();
form.addEventListener("submit", (event) => {
  event.preventDefault();
  show();
});
show();
