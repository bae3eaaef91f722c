// The multi-year rekap table (months as rows, years as columns), with CSV and XLSX downloads.
import {
  $, api, busy, clearErrors, el, formatNumber, query, showProblem, siteHeader, staleNote, TIME_ZONE,
} from "/aset/app.js";

siteHeader();

const form = $("#rentang");
const year = Number(new Intl.DateTimeFormat("en", { timeZone: TIME_ZONE, year: "numeric" }).format(new Date()));
$("#dari").value = query("dari") || year - 4;
$("#sampai").value = query("sampai") || year;
$("#jenis").value = query("jenis") || "";

function params() {
  const search = new URLSearchParams();
  for (const [name, input] of [["from", "#dari"], ["to", "#sampai"]]) {
    if ($(input).value.trim()) search.set(name, $(input).value.trim()); // empty: "Wajib diisi."
  }
  if ($("#jenis").value) search.set("kind", $("#jenis").value);
  return search;
}

/** One table per year: months as rows, the channels (and their sum) as columns. */
async function perChannel(search) {
  const holder = $("#tabel-kanal");
  const answer = await api(`/reporting/v1/rekap/years/channels?${search}`, { auth: false });
  if (!answer.ok) {
    holder.replaceChildren(el("p", { class: "redup" }, answer.problem.detail));
    return;
  }
  const data = answer.data;
  holder.replaceChildren(...data.years.map((year) => {
    const months = data.counts[String(year)];
    const sum = (values) => values.reduce((a, b) => a + b, 0);
    const rows = Object.entries(months).map(([month, counts]) => el("tr", {},
      el("th", { scope: "row" }, data.month_labels[Number(month) - 1]),
      data.channels.map((c) => el("td", { class: "angka" }, formatNumber(counts[c]))),
      el("td", { class: "angka" }, formatNumber(sum(Object.values(counts))))));
    const totals = data.channels.map((c) => sum(Object.values(months).map((counts) => counts[c])));
    return el("div", { class: "gulir" }, el("table", { "data-tahun": year },
      el("caption", {}, `Tahun ${year}`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Bulan"),
        data.channel_labels.map((label) => el("th", { scope: "col", class: "angka" }, label)),
        el("th", { scope: "col", class: "angka" }, "Jumlah"))),
      el("tbody", {}, rows, el("tr", {}, el("th", { scope: "row" }, "Jumlah"),
        totals.map((n) => el("td", { class: "angka" }, formatNumber(n))),
        el("td", { class: "angka" }, formatNumber(sum(totals)))))));
  }));
}

async function show() {
  const search = params();
  const answer = await api(`/reporting/v1/rekap/years?${search}`, { auth: false });
  $("#catatan-data").replaceChildren(staleNote(answer.stale) || "");
  if (!answer.ok) {
    $("#tabel-tahun").replaceChildren();
    $("#unduh").replaceChildren();
    return showProblem(form, answer.problem);
  }
  clearErrors(form);
  const data = answer.data;
  $("#judul-tabel").textContent = `Tahun ${data.years[0]} s.d. ${data.years.at(-1)}`;
  const header = el("tr", {}, el("th", { scope: "col" }, "Bulan"),
    data.years.map((y) => el("th", { scope: "col", class: "angka" }, String(y))),
    el("th", { scope: "col", class: "angka" }, "Jumlah"));
  const rows = data.rows.map((row) => el("tr", {}, el("th", { scope: "row" }, row.month_label),
    data.years.map((y) => el("td", { class: "angka" }, formatNumber(row.counts[String(y)]))),
    el("td", { class: "angka" }, formatNumber(row.total))));
  const totals = el("tr", {}, el("th", { scope: "row" }, "Jumlah"),
    data.years.map((y) => el("td", { class: "angka" }, formatNumber(data.totals[String(y)]))),
    el("td", { class: "angka" }, formatNumber(data.total)));
  $("#tabel-tahun").replaceChildren(el("thead", {}, header), el("tbody", {}, rows, totals));
  $("#unduh").replaceChildren("Unduh: ", ...["csv", "xlsx", "pdf"].map((fmt) =>
    el("a", { class: "tombol kedua", href: `/reporting/v1/rekap/years.${fmt}?${search}`, download: `rekap-tahunan.${fmt}` },
      fmt.toUpperCase())));
  await perChannel(search);
  history.replaceState(null, "", `?dari=${search.get("from")}&sampai=${search.get("to")}${$("#jenis").value ? `&jenis=${$("#jenis").value}` : ""}`);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, show);
});
show();
