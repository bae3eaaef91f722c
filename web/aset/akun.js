// The account page: every officer changes their own password; an administrator also makes
// officers' accounts in the agencies they administer (picking the agency: one of the province
// administers every agency), changes their roles, disables them and sets new passwords.
import { $, $$, api, busy, clearErrors, el, formatDateTime, showProblem } from "/aset/app.js";
import { notice, startOfficerPage } from "/aset/petugas.js";

const officer = startOfficerPage();
const ACCOUNTS = "/workflow/v1/accounts";
const PROVINCE = "*";
let roles = [];
let agencyNames = new Map([[PROVINCE, "Provinsi (semua instansi)"]]);

function say(where, kind, text) {
  const box = notice(kind, el("p", {}, text));
  $(where).replaceChildren(box);
  box.focus();
}

const change = $("#ganti-sandi");
change.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(change, async () => {
    if ($("#sandi-baru").value !== $("#sandi-ulang").value) {
      const error = { field: "repeat", code: "repeat", message: "Tidak sama dengan kata sandi baru." };
      return showProblem(change, { detail: "Periksa kembali.", errors: [error] });
    }
    const body = { current_password: $("#sandi-lama").value, new_password: $("#sandi-baru").value };
    const answer = await api("/workflow/v1/auth/password", { method: "POST", json: body });
    if (!answer.ok) return showProblem(change, answer.problem);
    clearErrors(change);
    change.reset();
    say("#sandi-hasil", "berhasil", "Kata sandi sudah diganti. Pakai kata sandi baru saat masuk berikutnya.");
  });
});

/** Checkboxes of the officer roles, the `chosen` ones ticked. */
function roleBoxes(prefix, chosen = []) {
  return roles.map((role) => {
    const id = `${prefix}-${role.id}`;
    const box = el("input", { type: "checkbox", id, name: "roles", value: role.id });
    box.checked = chosen.includes(role.id);
    return el("label", { for: id }, box, role.label);
  });
}

const checked = (form) => $$("input[name=roles]:checked", form).map((box) => box.value);
const labelOf = (id) => (roles.find((role) => role.id === id) || { label: id }).label;
const agencyName = (id) => agencyNames.get(id) || id;

/** The agency an account acts in, and the other agencies it belongs to with its roles there. */
function agencies(account) {
  const others = Object.entries(account.memberships || {}).filter(([id]) => id !== account.agency);
  return [
    el("div", {}, agencyName(account.agency)),
    ...others.map(([id, held]) => el("div", { class: "redup" }, `Juga ${agencyName(id)}: ${held.map(labelOf).join(", ")}`)),
  ];
}

/** The agencies this administrator may make accounts in: those they administer (every one,
 * and the province itself, for an administrator of the province). */
async function administered() {
  const own = Object.entries(officer.memberships || {})
    .filter(([, held]) => held.includes("admin"))
    .map(([id]) => id);
  const answer = await api("/workflow/v1/agencies");
  const known = answer.ok ? answer.data : [];
  agencyNames = new Map([...agencyNames, ...known.map((agency) => [agency.id, agency.name])]);
  if (own.includes(PROVINCE)) return [...known.map((agency) => agency.id), PROVINCE];
  return own;
}

/** The agency picker of the new-account form: pre-chosen when there is one agency only. */
function fillAgencies(ids) {
  const select = $("#akun-instansi");
  const choose = ids.length === 1 ? [] : [el("option", { value: "" }, "— Pilih instansi —")];
  select.replaceChildren(...choose, ...ids.map((id) => el("option", { value: id }, agencyName(id))));
}

function status(account) {
  if (account.disabled) return el("span", { class: "lencana terlambat" }, "Nonaktif");
  if (account.locked_until) {
    return el("span", { class: "lencana menunggu" }, `Terkunci sampai ${formatDateTime(account.locked_until)}`);
  }
  return el("span", { class: "lencana selesai" }, "Aktif");
}

/** A small form inside a <details> of a row; `send` returns the API answer. */
function rowForm(summary, fields, button, send) {
  const form = el("form", { novalidate: true }, ...fields, el("button", { type: "submit" }, button));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, async () => {
      const answer = await send(form);
      if (!answer.ok) return showProblem(form, answer.problem);
      await load(`${summary}: tersimpan.`);
    });
  });
  return el("details", { class: "aksi" }, el("summary", {}, summary), form);
}

function actions(account) {
  const path = `${ACCOUNTS}/${encodeURIComponent(account.username)}`;
  const toggle = el("button", { type: "button", class: "kedua" }, account.disabled ? "Aktifkan" : "Nonaktifkan");
  toggle.addEventListener("click", async () => {
    const answer = await api(path, { method: "PATCH", json: { disabled: !account.disabled } });
    if (!answer.ok) return say("#kelola-hasil", "galat", answer.problem.detail);
    await load(`Akun ${account.username} ${account.disabled ? "diaktifkan" : "dinonaktifkan"}.`);
  });
  const prefix = `peran-${account.username.replace(/[^\w-]/g, "-")}`;
  const rolesForm = rowForm(
    "Ubah peran",
    [el("fieldset", { class: "kolom pilihan", "data-field": "roles" }, el("legend", {}, `Peran ${account.username}`), ...roleBoxes(prefix, account.roles))],
    "Simpan peran",
    (form) => api(path, { method: "PATCH", json: { roles: checked(form) } })
  );
  const id = `sandi-${prefix}`;
  const passwordForm = rowForm(
    "Atur ulang kata sandi",
    [el("div", { class: "kolom", "data-field": "password" },
      el("label", { for: id }, `Kata sandi baru untuk ${account.username}`),
      el("input", { id, type: "password", name: "password", autocomplete: "new-password" }))],
    "Simpan kata sandi",
    (form) => api(`${path}/password`, { method: "POST", json: { password: $("input", form).value } })
  );
  return [toggle, rolesForm, passwordForm];
}

async function load(message) {
  const answer = await api(ACCOUNTS);
  if (!answer.ok) return say("#kelola-hasil", "galat", answer.problem.detail);
  $("#daftar-akun").replaceChildren(
    ...answer.data.map((account) =>
      el("tr", { "data-akun": account.username },
        el("td", {}, account.username),
        el("td", {}, account.name),
        el("td", {}, ...agencies(account)),
        el("td", {}, account.roles.map(labelOf).join(", ")),
        el("td", {}, status(account)),
        el("td", {}, ...actions(account)))
    )
  );
  if (message) say("#kelola-hasil", "berhasil", message);
}

const create = $("#buat-akun");
create.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(create, async () => {
    const body = {
      username: $("#akun-pengguna").value,
      name: $("#akun-nama").value,
      roles: checked(create),
      password: $("#akun-sandi").value,
    };
    const agency = $("#akun-instansi").value;
    if (agency) body.agency = agency; // none chosen: the API says to choose one
    const answer = await api(ACCOUNTS, { method: "POST", json: body });
    if (!answer.ok) return showProblem(create, answer.problem);
    clearErrors(create);
    create.reset();
    await load(`Akun ${answer.data.username} dibuat.`);
  });
});

const info = await api("/workflow/v1/auth", { auth: false });
if (info.ok && !info.data.password_login) {
  // The office signs in at its identity provider: passwords and accounts are kept there.
  $("#akun").replaceChildren(
    el("h1", {}, "Akun"),
    notice("galat", el("p", {}, "Akun dan kata sandi petugas dikelola di layanan masuk (SSO) instansi, bukan di sini."))
  );
} else if (officer.roles.includes("admin")) {
  roles = info.ok ? info.data.roles : [];
  $("#akun-peran").append(...roleBoxes("akun-peran"));
  fillAgencies(await administered());
  $("#kelola").classList.remove("tersembunyi");
  await load();
}
