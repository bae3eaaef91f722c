// The satisfaction survey (/survei?kode=XXXX-XXXX): the nine SKM elements, each rated 1 to 4,
// after the case closed. The intake API says when it is too early or already answered.
import { $, api, busy, el, onField, query, showProblem, siteHeader } from "/aset/app.js";

siteHeader();
const form = $("#survei");
const input = $("#kode");
let elements = [];

function question(element, index, scale) {
  const name = `unsur-${index}`;
  const options = Object.entries(scale).map(([value, label]) => {
    // The whole box is the label: a tap anywhere on it chooses the score.
    return el(
      "label",
      { class: "opsi" },
      el("input", { type: "radio", name, value }),
      el("span", {}, el("span", { class: "nilai" }, value), " ", label)
    );
  });
  return el(
    "fieldset",
    { class: "skala", "data-field": `scores.${index}` },
    el("legend", {}, `${index + 1}. ${element}`),
    el("div", { class: "opsi-skala" }, options)
  );
}

async function loadQuestions() {
  const answer = await api("/intake/v1/surveys/questions", { auth: false });
  if (!answer.ok) return showProblem(form, answer.problem);
  elements = answer.data.elements;
  $("#unsur").replaceChildren(
    el("p", { class: "bantuan" }, "Nilai 1 berarti tidak baik, 4 berarti sangat baik."),
    ...elements.map((element, index) => question(element, index, answer.data.scale))
  );
}

function score(index) {
  const checked = $(`input[name="unsur-${index}"]:checked`, form);
  return checked ? Number(checked.value) : null;
}

/** What is missing before sending: the code and every element's score. */
function missing(scores) {
  const errors = [];
  if (!input.value.trim()) {
    errors.push({ field: "tracking_code", code: "missing", message: "Masukkan kode pelacakan." });
  }
  scores.forEach((value, index) => {
    if (value === null) {
      const message = "Pilih salah satu nilai untuk unsur ini.";
      errors.push({ field: `scores.${index}`, code: "missing", message });
    }
  });
  return errors;
}

function thank(data) {
  form.classList.add("tersembunyi");
  const done = $("#selesai");
  const track = el("a", { href: `/lacak?kode=${encodeURIComponent(data.tracking_code)}` }, "halaman lacak");
  done.replaceChildren(
    el("p", {}, el("strong", {}, data.message)),
    el("p", {}, `Penilaian untuk kode ${data.tracking_code} sudah tersimpan. Kembali ke `, track, ".")
  );
  done.classList.remove("tersembunyi");
  done.focus();
}

async function submit() {
  const scores = elements.map((_, index) => score(index));
  const errors = missing(scores);
  if (errors.length) return showProblem(form, { detail: "Survei belum lengkap.", errors });
  const body = { tracking_code: input.value.trim(), scores };
  const answer = await api("/intake/v1/surveys", { method: "POST", json: body, auth: false });
  if (answer.ok) return thank(answer.data);
  // An unknown code, a case not closed yet or a survey already answered: next to the code.
  const onCode = answer.status === 404 || answer.status === 409;
  showProblem(form, onCode ? onField(answer.problem, "tracking_code") : answer.problem);
}

input.value = query("kode") || "";
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (elements.length) busy(form, submit);
});
await loadQuestions();
