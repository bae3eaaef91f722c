// Operators: the live event stream (SSE, resuming where it left off) and the dead letters.
import { $, api, el, formatDateTime, requireOfficer, siteHeader } from "/aset/app.js";

const officer = requireOfficer();
siteHeader();
const MAX_ROWS = 200;
let source = null;

// The SSE event name is the CloudEvents type: one listener per type the platform publishes.
let knownTypes = [];

function follow() {
  source?.close();
  const search = new URLSearchParams({ access_token: officer.token });
  for (const type of $("#jenis").value.split(",").map((t) => t.trim()).filter(Boolean)) {
    search.append("type", type);
  }
  const status = $("#status-aliran");
  const stream = new EventSource(`/reporting/v1/operations/events?${search}`);
  stream.onopen = () => { status.textContent = "Tersambung; peristiwa baru muncul di atas."; };
  stream.onerror = () => { status.textContent = "Terputus; menyambung kembali…"; };
  stream.onmessage = show;
  for (const name of knownTypes) stream.addEventListener(name, show);
  source = stream;
}

// "aduan.CaseOpened.v1" → "CaseOpened"
function shortType(type) {
  return (type || "").replace(/^aduan\./, "").replace(/\.v\d+$/, "");
}

function show(event) {
  let body = {};
  try { body = JSON.parse(event.data); } catch { /* keep the raw line */ }
  const row = el("tr", {},
    el("td", {}, formatDateTime(body.time)),
    el("td", {}, shortType(event.type === "message" ? body.type || "" : event.type)),
    el("td", {}, body.source || ""),
    el("td", {}, body.subject || ""));
  const rows = $("#peristiwa");
  rows.prepend(row);
  while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
}

async function deadLetters() {
  const box = $("#kotak-gagal");
  const answer = await api("/reporting/v1/operations/dead-letters");
  if (!answer.ok) {
    box.replaceChildren(el("p", { class: "kotak-galat", role: "alert" }, answer.problem.detail));
    $("#gagal").replaceChildren();
    return;
  }
  box.replaceChildren(answer.data.length
    ? el("p", {}, `${answer.data.length} pesan menunggu.`)
    : el("p", { class: "kotak-berhasil" }, "Tidak ada pesan gagal."));
  $("#gagal").replaceChildren(...answer.data.map((letter) => el("tr", {},
    el("td", {}, letter.service),
    el("td", {}, shortType(letter.type) || "–"),
    el("td", {}, letter.reason || "–"),
    el("td", { class: "angka" }, letter.deliveries ?? "–"),
    el("td", {}, formatDateTime(letter.first_failure), el("br"), formatDateTime(letter.last_failure)),
    el("td", {}, history(letter.history)),
    el("td", {}, el("code", {}, letter.body.slice(0, 120))),
    el("td", {}, el("button", {
      type: "button",
      onclick: () => requeue(letter.service, letter.message_id),
    }, "Kirim ulang")))));
}

// Earlier parkings of the same message, each with who sent it back and when.
function history(parkings) {
  if (!parkings.length) return "–";
  return el("ol", {}, ...parkings.map((parked) => el("li", {},
    `Gagal ${parked.deliveries ?? "?"} kali (terakhir ${formatDateTime(parked.last_failure)}); `
    + `dikirim ulang oleh ${parked.requeued_by} pada ${formatDateTime(parked.requeued_at)}`)));
}

async function requeue(service, messageId) {
  const search = messageId ? `?message_id=${encodeURIComponent(messageId)}` : "";
  const answer = await api(`/reporting/v1/operations/dead-letters/${service}/requeue${search}`, { method: "POST" });
  const box = $("#kotak-gagal");
  if (!answer.ok) {
    box.replaceChildren(el("p", { class: "kotak-galat", role: "alert" }, answer.problem.detail));
    return;
  }
  await deadLetters();
  box.prepend(el("p", { class: "kotak-berhasil", role: "status" }, `${answer.data.requeued} pesan dikirim ulang.`));
}

const types = await api("/reporting/v1/operations/event-types", { auth: false });
knownTypes = types.ok ? types.data : [];
$("#saring").addEventListener("submit", (event) => {
  event.preventDefault();
  follow();
});
$("#muat-ulang").addEventListener("click", deadLetters);
follow();
deadLetters();
