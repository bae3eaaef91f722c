// /petugas: the cases waiting at the signed-in role's SOP steps, refreshed every half minute.
import { $, api, el, formatDateTime, formatWorkingMinutes, query, requireOfficer } from "/aset/app.js";
import { badges, caseHref, labels, notice, startOfficerPage } from "/aset/petugas.js";

const REFRESH_SECONDS = 30;
const officer = startOfficerPage();
const words = await labels();
const main = $("#daftar-kerja");
const roleSelect = $("#peran");

for (const role of officer.roles) roleSelect.append(el("option", { value: role }, words.role(role)));
if (officer.roles.includes(query("peran"))) roleSelect.value = query("peran");
if (officer.roles.length > 1) $("#pilih-peran").classList.remove("tersembunyi");

function timeLeft(item) {
  if (item.waiting) return "berhenti (menunggu pemohon)";
  return formatWorkingMinutes(item.working_minutes_left);
}

function row(item) {
  return el(
    "tr",
    { "data-code": item.tracking_code, class: item.overdue ? "terlambat" : null },
    el("td", {}, el("a", { href: caseHref(item.case_id), class: "tiket" }, item.tracking_code)),
    el("td", {}, words.kind(item.kind)),
    el("td", {}, words.channel(item.channel)),
    el("td", {}, words.category(item.category)),
    el("td", {}, words.step(item.kind, item.current_step)),
    el("td", {}, timeLeft(item), el("br"), el("span", { class: "redup" }, formatDateTime(item.step_due_at))),
    el("td", {}, formatDateTime(item.deadline_at)),
    el("td", {}, badges(item))
  );
}

function table(items) {
  const head = ["Nomor tiket", "Jenis", "Kanal", "Kategori", "Langkah", "Sisa waktu langkah", "Tenggat kasus", "Keadaan"];
  return el(
    "div",
    { class: "gulir" },
    el(
      "table",
      { id: "daftar" },
      el("caption", { class: "visually-hidden" }, "Kasus yang menunggu peran Anda"),
      el("thead", {}, el("tr", {}, head.map((text) => el("th", { scope: "col" }, text)))),
      el("tbody", {}, items.map(row))
    )
  );
}

function empty(role) {
  const all = words.stepsOf(role);
  const steps = all.filter((step) => step.id !== "submission");
  const search = el("a", { href: "/petugas/cari" }, "Cari kasus");
  if (!steps.length && all.length) {
    return el(
      "p",
      { class: "kartu" },
      `${words.role(role)} mencatat pengaduan dan konsultasi yang masuk (langkah 1); langkah berikutnya ditangani peran lain. `,
      el("a", { href: "/petugas/catat" }, "Catat pengaduan"),
      " yang baru, atau buka kasus lewat ",
      search,
      "."
    );
  }
  if (!steps.length) {
    return el("p", { class: "kartu" }, `${words.role(role)} tidak bertindak pada langkah SOP mana pun. Gunakan `, search, " untuk membuka kasus.");
  }
  const names = [...new Set(steps.map((step) => step.label))].join(", ");
  return el("p", { class: "kartu" }, `Tidak ada kasus yang menunggu. Langkah peran ${words.role(role)}: ${names}.`);
}

function render(role, items) {
  const late = items.filter((item) => item.overdue).length;
  const summary = el(
    "p",
    { id: "ringkasan" },
    `${items.length} kasus menunggu`,
    late ? el("span", {}, " · ", el("span", { class: "lencana terlambat" }, `${late} terlambat`)) : null
  );
  $("#isi").replaceChildren(summary, items.length ? table(items) : empty(role));
}

/** Messages to complainants that could not be sent (intake's deliveries), above the list. */
async function showFailedDeliveries() {
  const answer = await api("/intake/v1/deliveries/failed");
  if (!answer.ok || !answer.data.count) return $("#pesan-gagal").replaceChildren();
  const links = answer.data.cases.map((item) => [" ", el("a", { href: caseHref(item.case_id), class: "tiket" }, item.tracking_code)]);
  return $("#pesan-gagal").replaceChildren(
    notice("galat", el("strong", {}, `${answer.data.count} pesan kepada pemohon gagal dikirim.`), " Buka kasusnya untuk mengirim ulang:", ...links)
  );
}

async function load() {
  showFailedDeliveries();
  const role = roleSelect.value;
  main.dataset.state = "memuat";
  const answer = await api(`/reporting/v1/worklist?role=${encodeURIComponent(role)}`);
  if (answer.status === 401) requireOfficer();
  if (answer.ok) render(role, answer.data);
  else $("#isi").replaceChildren(notice("galat", answer.problem.detail));
  const time = new Intl.DateTimeFormat("id-ID", { timeStyle: "short", timeZone: "Asia/Jakarta" }).format(new Date());
  $("#diperbarui").textContent = `Diperbarui pukul ${time} WIB; otomatis setiap ${REFRESH_SECONDS} detik.`;
  main.dataset.state = "siap";
}

$("#kendali").addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
roleSelect.addEventListener("change", () => {
  history.replaceState(null, "", `?peran=${encodeURIComponent(roleSelect.value)}`);
  load();
});
$("#kendali button[type=submit]").disabled = false; // disabled until the script listens
setInterval(() => document.hidden || load(), REFRESH_SECONDS * 1000);
document.addEventListener("visibilitychange", () => document.hidden || load());
load();
