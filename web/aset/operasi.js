// Operators: the live event stream (SSE, resuming where it left off) and the dead letters.
import { $, api, el, formatDateTime, requireOfficer, siteHeader } from "/aset/app.js";

const officer = requireOfficer();
siteHeader();
const MAX_ROWS = 200;
let following = null; // the AbortController of the stream being read
let lastId = null; // the last event's id: a stream broken off resumes after it
const RECONNECT_MS = 3000;

// The live stream (SSE) read with fetch rather than EventSource: the token goes in the
// Authorization header, never in the address, which proxies and their access logs keep.
function follow() {
  following?.abort();
  lastId = null; // another filter: from now on
  following = new AbortController();
  read(following.signal);
}

async function read(signal) {
  const search = new URLSearchParams();
  for (const type of $("#jenis").value.split(",").map((t) => t.trim()).filter(Boolean)) {
    search.append("type", type);
  }
  const status = $("#status-aliran");
  while (!signal.aborted) {
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${officer.token}` };
    if (lastId) headers["Last-Event-ID"] = lastId;
    try {
      const response = await fetch(`/reporting/v1/operations/events?${search}`, { headers, signal });
      if (response.ok) {
        status.textContent = "Tersambung; peristiwa baru muncul di atas.";
        await dispatch(response.body);
      } else {
        const problem = await response.json().catch(() => null);
        status.textContent = problem?.detail || `Aliran tidak dapat dibuka (${response.status}).`;
        if (response.status < 500 && response.status !== 429) return; // retrying cannot help
        await pause(RECONNECT_MS, signal);
        continue;
      }
    } catch {
      if (signal.aborted) return;
    }
    status.textContent = "Terputus; menyambung kembali…";
    await pause(RECONNECT_MS, signal);
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// The event stream format (a blank line ends an event; "field: value" lines; ":" a comment).
async function dispatch(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const raw of lines) {
      const line = raw.replace(/\r$/, "");
      if (line === "") {
        if (event.data.length) show({ type: event.type, data: event.data.join("\n") });
        event = { type: "message", data: [] };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") event.data.push(text);
      else if (field === "event") event.type = text;
      else if (field === "id") lastId = text;
    }
  }
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

$("#saring").addEventListener("submit", (event) => {
  event.preventDefault();
  follow();
});
$("#muat-ulang").addEventListener("click", deadLetters);
follow();
deadLetters();
