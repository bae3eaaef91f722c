// /petugas: the live cases waiting at the signed-in role's SOP steps (past the case deadline
// first), with an excerpt of what was written, refreshed every half minute; the counts lead to
// the filtered list. `?daftar=impor`: the imported register's open cases, closed in bulk.
import { $, api, busy, clearErrors, el, formatDateTime, formatWorkingMinutes, query, requireOfficer, showProblem } from "/aset/app.js";
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

// The filters the counts link to: a word in the address, and which items it keeps.
const FILTERS = {
  "lewat-tenggat": { label: "melewati tenggat penyelesaian", keep: (item) => item.late },
  terlambat: { label: "langkah melewati waktu standar", keep: (item) => item.overdue },
};
const backlog = query("daftar") === "impor";
let excerpts = {};

function listHref(changes) {
  const params = new URLSearchParams({ peran: roleSelect.value, ...changes });
  for (const [key, value] of [...params]) if (!value) params.delete(key);
  return `?${params}`;
}

function pick(item) {
  return el("td", {}, el("input", { type: "checkbox", name: "kasus", value: item.case_id, "aria-label": `Pilih ${item.tracking_code}` }));
}

function row(item) {
  const excerpt = excerpts[item.case_id];
  return el(
    "tr",
    { "data-code": item.tracking_code, "data-late": String(item.late), class: !backlog && (item.late || item.overdue) ? "terlambat" : null },
    backlog ? pick(item) : null,
    el(
      "td",
      {},
      el("a", { href: caseHref(item.case_id), class: "tiket" }, item.tracking_code),
      excerpt ? el("div", { class: "kutipan redup" }, excerpt) : null
    ),
    el("td", {}, words.kind(item.kind)),
    el("td", {}, words.channel(item.channel)),
    el("td", {}, words.category(item.category)),
    el("td", {}, words.step(item.kind, item.current_step)),
    el("td", {}, timeLeft(item), el("br"), el("span", { class: "redup" }, formatDateTime(item.step_due_at))),
    el("td", {}, formatDateTime(item.deadline_at)),
    el("td", {}, backlog ? "Impor buku register" : badges({ ...item, breached: item.late }))
  );
}

function table(items) {
  const head = [
    ...(backlog ? ["Pilih"] : []),
    "Nomor tiket dan isi",
    "Jenis",
    "Kanal",
    "Kategori",
    "Langkah",
    "Sisa waktu langkah",
    "Tenggat kasus",
    "Keadaan",
  ];
  return el(
    "div",
    { class: "gulir" },
    el(
      "table",
      { id: "daftar" },
      el("caption", { class: "visually-hidden" }, backlog ? "Kasus impor yang masih terbuka" : "Kasus yang menunggu peran Anda"),
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

function counts(items) {
  const links = Object.entries(FILTERS).map(([word, filter]) => {
    const count = items.filter(filter.keep).length;
    if (!count) return null;
    const link = el("a", { href: listHref({ saring: word }), class: "lencana terlambat", "data-filter": word }, `${count} ${filter.label}`);
    return el("span", {}, " · ", link);
  });
  return links;
}

function render(role, items, imported) {
  const filter = FILTERS[query("saring")];
  const shown = filter ? items.filter(filter.keep) : items;
  const summary = el(
    "p",
    { id: "ringkasan" },
    filter ? `${shown.length} kasus ${filter.label} · ` : `${items.length} kasus menunggu`,
    filter ? el("a", { href: listHref({}) }, "Tampilkan semua") : counts(items),
    imported.length
      ? el("span", {}, " · ", el("a", { href: listHref({ daftar: "impor" }), id: "ke-arsip" }, `${imported.length} kasus impor buku register masih terbuka`))
      : null
  );
  $("#isi").replaceChildren(summary, shown.length ? table(shown) : empty(role));
}

function closeForm(items) {
  const form = el(
    "form",
    { id: "tutup-arsip", class: "kartu", novalidate: true },
    el("h2", {}, "Tutup kasus impor yang dipilih"),
    el(
      "p",
      { class: "redup" },
      "Kasus ini dicatat di buku register lama sebagai masih diproses. Bila sudah ditangani di luar sistem, tutup sebagai arsip; alasannya dicatat pada setiap kasus."
    ),
    el(
      "div",
      { class: "kolom", "data-field": "reason" },
      el("label", { for: "alasan-arsip" }, "Alasan penutupan"),
      el("textarea", { id: "alasan-arsip", name: "reason", rows: 3, required: true })
    ),
    el("button", { type: "submit" }, "Tutup kasus yang dipilih")
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, () => closeChosen(form, items));
  });
  return form;
}

/** Asks before closing; resolves true when the officer confirms. */
function confirmed(count) {
  const dialog = $("#konfirmasi");
  $("#konfirmasi-judul").textContent = `Tutup ${count} kasus impor sebagai arsip?`;
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ya"), { once: true });
    dialog.showModal();
  });
}

async function closeChosen(form, items) {
  clearErrors(form);
  const chosen = [...document.querySelectorAll("input[name=kasus]:checked")].map((box) => box.value);
  const reason = form.elements.namedItem("reason").value.trim();
  if (!chosen.length || !reason) {
    return showProblem(form, {
      detail: chosen.length ? "Tuliskan alasan penutupan." : "Pilih kasus yang akan ditutup.",
      errors: reason ? [] : [{ field: "reason", code: "missing", message: "Alasan wajib diisi." }],
    });
  }
  if (!(await confirmed(chosen.length))) return null;
  const answer = await api("/workflow/v1/backlog/close", { method: "POST", json: { case_ids: chosen, reason } });
  if (!answer.ok) return showProblem(form, answer.problem);
  const refused = answer.data.refused.length ? ` ${answer.data.refused.length} tidak dapat ditutup.` : "";
  await load();
  $("#pesan").replaceChildren(notice("berhasil", `${answer.data.closed.length} kasus impor ditutup sebagai arsip.${refused}`));
  return items;
}

function renderBacklog(role, items) {
  const back = el("a", { href: listHref({}) }, "Kembali ke daftar kerja");
  const summary = el("p", { id: "ringkasan" }, `${items.length} kasus impor buku register masih terbuka · `, back);
  $("#isi").replaceChildren(summary, items.length ? table(items) : el("p", { class: "kartu" }, "Tidak ada kasus impor yang terbuka."), items.length ? closeForm(items) : "");
}

async function loadExcerpts(items) {
  const ids = items.map((item) => item.case_id).filter((id) => !(id in excerpts));
  if (!ids.length) return;
  const answer = await api("/intake/v1/submissions/excerpts", { method: "POST", json: { case_ids: ids } });
  if (answer.ok) excerpts = { ...excerpts, ...answer.data };
}

/** Messages to complainants that could not be sent (intake's deliveries), above the list. */
async function showFailedDeliveries() {
  if (!words.worksOnCases(officer.roles)) return; // theirs to resend only, and asked of them only
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
  const path = (list) => `/reporting/v1/${list}?role=${encodeURIComponent(role)}`;
  const [answer, imported] = await Promise.all([api(path(backlog ? "backlog" : "worklist")), backlog ? null : api(path("backlog"))]);
  if (answer.status === 401) requireOfficer();
  if (answer.ok) {
    await loadExcerpts(answer.data);
    if (backlog) renderBacklog(role, answer.data);
    else render(role, answer.data, imported && imported.ok ? imported.data : []);
  } else $("#isi").replaceChildren(notice("galat", answer.problem.detail));
  const time = new Intl.DateTimeFormat("id-ID", { timeStyle: "short", timeZone: "Asia/Jakarta" }).format(new Date());
  $("#diperbarui").textContent = `Diperbarui pukul ${time} WIB; otomatis setiap ${REFRESH_SECONDS} detik.`;
  main.dataset.state = "siap";
}

$("#kendali").addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
roleSelect.addEventListener("change", () => {
  history.replaceState(null, "", listHref({ daftar: backlog ? "impor" : "" }));
  load();
});
if (backlog) {
  $("h1").textContent = "Kasus impor buku register";
  $("#penjelasan").textContent = "Kasus yang di buku register lama masih tercatat diproses: bukan pekerjaan baru, tanpa peringatan keterlambatan. Kerjakan satu per satu, atau tutup sekaligus sebagai arsip dengan alasan.";
}
$("#kendali button[type=submit]").disabled = false; // disabled until the script listens
setInterval(() => document.hidden || backlog || load(), REFRESH_SECONDS * 1000);
document.addEventListener("visibilitychange", () => document.hidden || load());
load();
