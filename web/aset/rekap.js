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
  $("#unduh").replaceChildren("Unduh: ", ...["csv", "xlsx"].map((fmt) =>
    el("a", { class: "tombol kedua", href: `/reporting/v1/rekap/years.${fmt}?${search}`, download: `rekap-tahunan.${fmt}` },
      fmt.toUpperCase())));
  history.replaceState(null, "", `?dari=${search.get("from")}&sampai=${search.get("to")}${$("#jenis").value ? `&jenis=${$("#jenis").value}` : ""}`);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, show);
});
show();
