// The satisfaction survey (/survei?kode=XXXX-XXXX#kunci=...): the nine SKM elements of
// PermenPANRB 14/2017, each with its own question and four answers (scored 1 to 4), the
// respondent's profile and a suggestion. Opened with the code and the receipt secret; whether
// it may be taken now (the case closed, not surveyed yet) is asked when the page opens.
import { $, api, busy, clearErrors, el, onField, query, showProblem, siteHeader } from "/aset/app.js";

siteHeader();
const opener = $("#buka");
const form = $("#survei");
const input = $("#kode");
const SECRET_HEADER = "X-Aduan-Receipt-Secret";
let elements = [];
let profile = [];
let held = null; // {code, secret}

function question(element, index) {
  const name = `unsur-${index}`;
  // Each element's own four answers; the whole box is the label: a tap anywhere chooses it.
  const options = element.answers.map((label, at) =>
    el(
      "label",
      { class: "opsi" },
      el("input", { type: "radio", name, value: String(at + 1) }),
      el("span", {}, label)
    )
  );
  return el(
    "fieldset",
    { class: "skala", "data-field": `scores.${index}` },
    el("legend", {}, `${index + 1}. ${element.label}`),
    el("p", { class: "bantuan" }, element.question),
    el("div", { class: "opsi-skala" }, options)
  );
}

function profileField(field) {
  const id = `profil-${field.id}`;
  const select = el(
    "select",
    { id, name: field.id },
    el("option", { value: "" }, "— pilih —"),
    Object.entries(field.options).map(([value, label]) => el("option", { value }, label))
  );
  return el("div", { class: "kolom", "data-field": `profile.${field.id}` }, el("label", { for: id }, field.label), select);
}

async function loadQuestions() {
  const answer = await api("/intake/v1/surveys/questions", { auth: false });
  if (!answer.ok) return showProblem(form, answer.problem);
  elements = answer.data.elements;
  profile = answer.data.profile;
  $("#unsur").replaceChildren(...elements.map(question));
  $("#profil").append(...profile.map(profileField));
}

function score(index) {
  const checked = $(`input[name="unsur-${index}"]:checked`, form);
  return checked ? Number(checked.value) : null;
}

/** What is missing before sending: every element's answer. */
function missing(scores) {
  return scores.flatMap((value, index) =>
    value === null ? [{ field: `scores.${index}`, code: "missing", message: "Pilih salah satu jawaban untuk unsur ini." }] : []
  );
}

function thank(data) {
  form.classList.add("tersembunyi");
  const done = $("#selesai");
  const track = el("a", { href: `/lacak?kode=${encodeURIComponent(data.tracking_code)}` }, "halaman lacak");
  done.replaceChildren(
    el("p", {}, el("strong", {}, data.message)),
    el("p", {}, `Penilaian untuk nomor tiket ${data.tracking_code} sudah tersimpan. Kembali ke `, track, ".")
  );
  done.classList.remove("tersembunyi");
  done.focus();
}

function profileAnswers() {
  const chosen = profile.map((field) => [field.id, form.elements.namedItem(field.id).value]);
  return Object.fromEntries(chosen.filter(([, value]) => value));
}

async function submit() {
  const scores = elements.map((_, index) => score(index));
  const errors = missing(scores);
  if (errors.length) return showProblem(form, { detail: "Survei belum lengkap.", errors });
  const body = {
    tracking_code: held.code,
    scores,
    profile: profileAnswers(),
    suggestion: $("#saran").value.trim(),
  };
  const answer = await api("/intake/v1/surveys", {
    method: "POST",
    json: body,
    auth: false,
    headers: { [SECRET_HEADER]: held.secret },
  });
  if (answer.ok) return thank(answer.data);
  showProblem(form, answer.status === 409 ? onField(answer.problem, "tracking_code") : answer.problem);
}

/** Whether the survey is open for this code now (asked on opening): closed, not taken yet. */
async function open(code, secret) {
  const answer = await api(`/intake/v1/surveys/${encodeURIComponent(code)}`, {
    auth: false,
    headers: { [SECRET_HEADER]: secret },
  });
  if (!answer.ok) {
    opener.classList.remove("tersembunyi");
    const field = answer.status === 404 ? "tracking_code" : "secret";
    return showProblem(opener, onField(answer.problem, field));
  }
  clearErrors(opener);
  opener.classList.add("tersembunyi");
  if (!answer.data.open) {
    const closed = $("#belum-dibuka");
    closed.replaceChildren(el("p", {}, answer.data.detail));
    return closed.classList.remove("tersembunyi");
  }
  held = { code: answer.data.tracking_code, secret };
  input.value = held.code;
  form.classList.remove("tersembunyi");
}

opener.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(opener, () => open($("#kode-buka").value.trim(), $("#kunci").value.trim()));
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (elements.length && held) busy(form, submit);
});

const code = query("kode") || "";
const secret = new URLSearchParams(location.hash.slice(1)).get("kunci") || "";
if (location.hash) history.replaceState(null, "", location.pathname + location.search);
$("#kode-buka").value = code;
$("#kunci").value = secret;
await loadQuestions();
if (code && secret) await busy(opener, () => open(code, secret));
else opener.classList.remove("tersembunyi");
