// The confirmation page (/terima-kasih?kode=XXXX-XXXX#kunci=...): the tracking code, its QR,
// the receipt secret (shown once: the fragment is dropped from the address at once), what next.
import { $, $$, query, siteHeader } from "/aset/app.js";

siteHeader();
const raw = (query("kode") || "").trim().toUpperCase();
const code = /^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(raw) ? raw : null;
const secret = new URLSearchParams(location.hash.slice(1)).get("kunci");
if (location.hash) history.replaceState(null, "", location.pathname + location.search); // once

function show() {
  if (!code) {
    $("#tanpa-kode").classList.remove("tersembunyi");
    return;
  }
  if (query("jenis") === "konsultasi") {
    $("#judul").textContent = "Konsultasi Anda sudah kami terima";
    for (const word of $$("[data-jenis]")) word.textContent = "konsultasi";
  }
  $("#kode").textContent = code;
  const track = `/lacak?kode=${encodeURIComponent(code)}`;
  for (const link of [$("#tautan-lacak"), $("#tautan-lacak-2")]) link.href = track;
  $("#tautan-survei").href = `/survei?kode=${encodeURIComponent(code)}`;
  if (secret) {
    $("#kunci").textContent = secret;
    const own = `/lacak?kode=${encodeURIComponent(code)}#kunci=${encodeURIComponent(secret)}`;
    $("#tautan-pemohon").href = own;
    $("#tautan-survei").href = `/survei?kode=${encodeURIComponent(code)}#kunci=${encodeURIComponent(secret)}`;
    $("#kotak-kunci").classList.remove("tersembunyi");
  }
  const qr = $("#qr");
  qr.alt = `Kode QR yang membuka halaman lacak untuk nomor tiket ${code}`;
  qr.src = `/intake/v1/qr/track/${encodeURIComponent(code)}.svg`;
  $("#tanda-terima").classList.remove("tersembunyi");
}

/** Copy what an element shows (the number, or the secret: typed by hand it is easily
 * mistaken); where the clipboard is not available, select it for a manual copy. */
async function copy(element, what) {
  const status = $("#status-salin");
  try {
    await navigator.clipboard.writeText(element.textContent);
    status.textContent = `${what} sudah disalin.`;
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    status.textContent = `${what} sudah dipilih; salin dengan menu ponsel atau Ctrl+C.`;
  }
}

show();
$("#salin").addEventListener("click", () => copy($("#kode"), "Nomor tiket"));
$("#salin-kunci").addEventListener("click", () => copy($("#kunci"), "Kunci"));
$("#cetak").addEventListener("click", () => print());
