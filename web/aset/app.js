// Aduan — what every page shares: calling the APIs, showing their problem+json errors next to
// the fields, the officer's session, dates in the office's time zone, the site header.
// Plain ES modules, served from this origin: no build step, nothing from a CDN.

export const TIME_ZONE = "Asia/Jakarta";
const TOKEN_KEY = "aduan.sesi";

// ---- DOM -----------------------------------------------------------------------------------

/** el("p", {class: "x"}, "text", child): an element; strings become text, never HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

// ---- the officer's session -----------------------------------------------------------------

function decodeClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      [...atob(part)].map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")
    );
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** The signed-in officer ({token, name, roles, agency, memberships, exp}), or null:
 * `roles` in `agency`, the one the token acts in; `memberships` {agency: roles} of every agency
 * they belong to ("*": the province, every agency). */
export function session() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  const claims = decodeClaims(token);
  if (!claims || (claims.exp && claims.exp * 1000 <= Date.now())) {
    sessionStorage.removeItem(TOKEN_KEY);
    return null;
  }
  const roles = claims.roles || [];
  const memberships = claims.memberships || (claims.agency ? { [claims.agency]: roles } : {});
  return { token, name: claims.name || claims.sub, roles, agency: claims.agency, memberships, exp: claims.exp };
}

export function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.href = "/petugas/masuk";
}

/** The session, or off to the login page (coming back here afterwards). */
export function requireOfficer() {
  const current = session();
  if (!current) {
    const next = encodeURIComponent(location.pathname + location.search);
    location.replace(`/petugas/masuk?lanjut=${next}`);
    throw new Error("belum masuk");
  }
  return current;
}

// ---- the APIs ------------------------------------------------------------------------------

// Set on a public read answered from its last good copy while the database is away: when that
// copy was read (services/reporting/last_good.py, STALE_HEADER).
const STALE_HEADER = "X-Aduan-Stale";

/**
 * Call an API. Returns {ok, status, data, stale, problem}: data is the JSON answer, stale the
 * time of the last good copy it came from (else null), problem the problem+json of a 4xx/5xx
 * (or one made up when the network failed).
 */
export async function api(path, { method = "GET", json, form, headers = {}, auth = true } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  const current = auth ? session() : null;
  if (current) init.headers.Authorization = `Bearer ${current.token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return {
      ok: false,
      status: 0,
      problem: { status: 0, detail: "Tidak dapat terhubung ke server. Periksa jaringan lalu coba lagi." },
    };
  }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json().catch(() => null) : null;
  if (response.ok) return { ok: true, status: response.status, data: body, stale: response.headers.get(STALE_HEADER) };
  if (response.status === 401 && auth && current) {
    sessionStorage.removeItem(TOKEN_KEY);
  }
  const problem = body && body.detail ? body : { status: response.status, detail: `Kesalahan ${response.status}.` };
  return { ok: false, status: response.status, problem };
}

const EMPTY_VOCABULARY = {
  kinds: [], statuses: [], status_groups: [], resolutions: [], events: [], channels: [], categories: [], roles: [], steps: {},
};
let vocabularyLoading = null;

/**
 * The case vocabulary (/reporting/v1/vocabulary, loaded once per page): ids and labels of kinds,
 * statuses and their groups, resolutions, events, channels, categories, roles and SOP steps.
 * No page keeps its own copy of any of them.
 */
export function vocabulary() {
  vocabularyLoading ||= api("/reporting/v1/vocabulary", { auth: false }).then((answer) => {
    if (answer.ok) return answer.data;
    vocabularyLoading = null; // asked again next time: reporting may be back
    return EMPTY_VOCABULARY;
  });
  return vocabularyLoading;
}

/** Whether a status belongs to a group of the vocabulary: "open", "waiting", "closed", "answered". */
export function inGroup(words, group, status) {
  const found = words.status_groups.find((term) => term.id === group);
  return Boolean(found && found.statuses.includes(status));
}

/** Fetch a file with the officer's token and save it under `filename`. */
export async function download(path, filename) {
  const current = session();
  const response = await fetch(path, {
    headers: current ? { Authorization: `Bearer ${current.token}` } : {},
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error((body && body.detail) || `Gagal mengunduh (${response.status}).`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: filename, class: "tersembunyi" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- errors next to the fields -------------------------------------------------------------

/** Remove the messages a previous attempt left. */
export function clearErrors(form) {
  for (const node of $$(".galat, .kotak-galat", form)) node.remove();
  for (const node of $$("[aria-invalid]", form)) {
    node.removeAttribute("aria-invalid");
    const described = (node.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter((id) => id && !id.startsWith("galat-"));
    if (described.length) node.setAttribute("aria-describedby", described.join(" "));
    else node.removeAttribute("aria-describedby");
  }
}

/** The wrapper marked data-field for an error's field: "contact.phone", "parties_present.0" … */
function fieldWrapper(form, field) {
  const parts = field.split(".");
  for (let n = parts.length; n > 0; n--) {
    const name = parts.slice(0, n).join(".");
    const found = $(`[data-field="${CSS.escape(name)}"]`, form);
    if (found) return found;
  }
  return null;
}

/**
 * Show a problem+json on a form: each error under its field (aria-invalid, aria-describedby),
 * what matches no field in a box at the top. Focuses the first field in error.
 */
export function showProblem(form, problem) {
  clearErrors(form);
  const unplaced = [];
  let first = null;
  for (const [index, error] of (problem.errors || []).entries()) {
    const wrapper = fieldWrapper(form, error.field || "");
    if (!wrapper) {
      unplaced.push(error.message);
      continue;
    }
    const id = `galat-${(error.field || "x").replace(/[^\w-]/g, "-")}-${index}`;
    wrapper.append(el("p", { class: "galat", id }, error.message));
    for (const control of $$("input, select, textarea", wrapper)) {
      control.setAttribute("aria-invalid", "true");
      const described = control.getAttribute("aria-describedby");
      control.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
      first = first || control;
    }
  }
  const placed = (problem.errors || []).length - unplaced.length;
  const summary = placed
    ? "Periksa kembali isian yang ditandai di bawah."
    : problem.detail || "Permintaan tidak dapat diproses.";
  const box = el("div", { class: "kotak-galat", role: "alert" }, el("p", {}, summary));
  if (unplaced.length) box.append(el("ul", {}, unplaced.map((m) => el("li", {}, m))));
  form.prepend(box);
  (first || box).focus?.();
  if (!first) box.scrollIntoView({ block: "center" });
}

/** A problem without field errors (an unknown code, a 409) told next to one field instead. */
export function onField(problem, field) {
  if (problem.errors && problem.errors.length) return problem;
  return { ...problem, errors: [{ field, code: problem.code || "", message: problem.detail }] };
}

/** Disable the submit button while `work` runs. */
export async function busy(form, work) {
  const buttons = $$("button[type=submit], button:not([type])", form);
  for (const button of buttons) button.disabled = true;
  try {
    return await work();
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

// ---- dates and durations, as the office reads them -----------------------------------------

const dateFormat = new Intl.DateTimeFormat("id-ID", { timeZone: TIME_ZONE, dateStyle: "long" });
const dateTimeFormat = new Intl.DateTimeFormat("id-ID", {
  timeZone: TIME_ZONE,
  dateStyle: "medium",
  timeStyle: "short",
});

export function formatDate(iso) {
  return iso ? dateFormat.format(new Date(iso)) : "–";
}

export function formatDateTime(iso) {
  return iso ? `${dateTimeFormat.format(new Date(iso))} WIB` : "–";
}

/** 200 → "3 jam 20 menit kerja"; negative → "lewat 1 jam 5 menit kerja". */
export function formatWorkingMinutes(minutes) {
  if (minutes === null || minutes === undefined) return "–";
  const over = minutes < 0;
  const total = Math.round(Math.abs(minutes));
  const days = Math.floor(total / 480); // a working day is eight hours
  const hours = Math.floor((total % 480) / 60);
  const rest = total % 60;
  const parts = [];
  if (days) parts.push(`${days} hari`);
  if (hours) parts.push(`${hours} jam`);
  if (rest || !parts.length) parts.push(`${rest} menit`);
  return `${over ? "lewat " : ""}${parts.join(" ")} kerja`;
}

/** The note beside data that came from the last good copy (`stale` is api()'s), or null. */
export function staleNote(stale) {
  if (!stale) return null;
  const moment = new Date(stale);
  const time = new Intl.DateTimeFormat("id-ID", { timeZone: TIME_ZONE, timeStyle: "short" }).format(moment);
  return el("p", { class: "kotak-info", role: "status" },
    `Data terakhir diperbarui ${formatDate(stale)} pukul ${time} WIB; saat ini sedang tidak dapat ` +
    "diperbarui. Silakan periksa kembali beberapa saat lagi.");
}

export function formatNumber(value) {
  return value === null || value === undefined ? "–" : new Intl.NumberFormat("id-ID").format(value);
}

export function formatShare(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

export function query(name) {
  return new URLSearchParams(location.search).get(name);
}

// ---- the site header -----------------------------------------------------------------------

const PUBLIC_LINKS = [
  ["/formulir", "Pengaduan"],
  ["/formulir?jenis=konsultasi", "Konsultasi"],
  ["/lacak", "Lacak"],
  ["/survei", "Survei"],
  ["/dasbor", "Dasbor"],
  ["/rekap", "Rekap"],
];
const OFFICER_LINKS = [
  ["/petugas", "Daftar kerja"],
  ["/petugas/cari", "Cari kasus"],
  ["/petugas/catat", "Catat pengaduan"],
  ["/dasbor", "Dasbor"],
  ["/rekap", "Rekap"],
  ["/operasi", "Operasi"],
  ["/petugas/akun", "Akun"],
];

/** How well a link names this page: -1 another page, else how many of its query values match. */
function linkMatch(href) {
  const link = new URL(href, location.origin);
  if (link.pathname !== location.pathname) return -1;
  const here = new URLSearchParams(location.search);
  const wanted = [...link.searchParams];
  return wanted.every(([key, value]) => here.get(key) === value) ? wanted.length : -1;
}

/** Fill <header class="situs" data-area="publik|petugas|statistik">; returns the session if any. */
export function siteHeader() {
  const header = $("header.situs");
  if (!header) return session();
  const current = session();
  // The statistics (data-area "statistik") are public: the officers' menu for an officer,
  // the public one for a visitor (the officers' pages would only send them to sign in).
  const declared = header.dataset.area || "publik";
  const area = declared === "statistik" ? (current ? "petugas" : "publik") : declared;
  const links = area === "petugas" ? OFFICER_LINKS : PUBLIC_LINKS;
  const matches = links.map(([href]) => linkMatch(href));
  const best = Math.max(...matches);
  const isHere = (href) => best >= 0 && linkMatch(href) === best;
  const nav = el(
    "nav",
    { "aria-label": "Navigasi utama" },
    links.map(([href, text]) =>
      el("a", { href, "aria-current": isHere(href) ? "page" : null }, text)
    )
  );
  const brand = el("a", { href: area === "petugas" ? "/petugas" : "/", class: "merek" }, "Aduan · DPMPTSP");
  header.replaceChildren(brand, nav);
  if (area === "petugas" && current) {
    header.append(
      el(
        "span",
        { class: "sesi" },
        `${current.name} (${current.roles.map(roleLabel).join(", ")}) `,
        el("button", { type: "button", class: "kedua", onclick: signOut }, "Keluar")
      )
    );
  } else if (area !== "petugas") {
    header.append(el("a", { href: "/petugas/masuk", class: "sesi" }, "Masuk petugas"));
  }
  return current;
}

export const ROLE_LABELS = {
  petugas: "Petugas Layanan",
  tim_pengaduan: "Tim Pengaduan",
  kabid: "Kepala Bidang",
  sekretaris: "Sekretaris",
  kepala_dinas: "Kepala Dinas",
  petugas_oss: "Petugas Pojok OSS",
  analis: "Analis",
  admin: "Administrator",
};

export function roleLabel(role) {
  return ROLE_LABELS[role] || role;
}

/** What the forms take until intake says (GET /intake/v1/form-options). */
export const FILE_LIMITS = {
  max_files: 5,
  max_attachment_bytes: 10 * 1024 * 1024,
  attachment_types: [],
  attachment_type_names: [],
};

/** A size as people read it: "10 MB", "0,3 MB" (as shared/text.py megabytes says it). */
export function megabytes(bytes) {
  return `${String(Math.ceil((bytes * 10) / (1024 * 1024)) / 10).replace(".", ",")} MB`;
}

let options = null;
/** The forms' choices and attachment limits from intake (asked once per page), or null. */
export async function formOptions() {
  options ??= api("/intake/v1/form-options", { auth: false }).then((answer) => (answer.ok ? answer.data : null));
  return options;
}

/** A file input's accepted types and its help text: how many files, how big, which types. */
export function describeFiles(input, help, limits, what) {
  input.setAttribute("accept", limits.attachment_types.join(","));
  help.textContent =
    `${what}: paling banyak ${limits.max_files} berkas, ` +
    `seluruhnya paling besar ${megabytes(limits.max_attachment_bytes)}. ` +
    `Jenis yang diterima: ${limits.attachment_type_names.join(", ")}.`;
}

/** An input's files, or a problem when there are too many or they are too big to send (checked
 * before sending: a phone's data is not spent on a refusal). */
export function chosenFiles(input, limits) {
  const files = [...input.files];
  const total = files.reduce((sum, file) => sum + file.size, 0);
  let message = null;
  if (files.length > limits.max_files) {
    message = `Paling banyak ${limits.max_files} berkas.`;
  } else if (total > limits.max_attachment_bytes) {
    message = `Lampiran seluruhnya ${megabytes(total)}; paling besar ${megabytes(limits.max_attachment_bytes)}.`;
  }
  if (!message) return { files };
  return { problem: { detail: message, errors: [{ field: "files", code: "too-large", message }] } };
}
