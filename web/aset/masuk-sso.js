// The redirect URI of the sign-in at the identity provider: finish it, then on to the worklist
// (or the page the officer came from); otherwise say why, in words an officer understands.
import { $, siteHeader } from "/aset/app.js";
import { finish } from "/aset/sso.js";

siteHeader();
const params = new URLSearchParams(location.search);
history.replaceState(null, "", location.pathname); // the code is not kept in the history
const outcome = await finish(params);
if (outcome.next) {
  location.replace(outcome.next);
} else {
  $("#menunggu").classList.add("tersembunyi");
  $("#alasan").textContent = outcome.problem.detail || "Masuk tidak berhasil.";
  $("#gagal").classList.remove("tersembunyi");
}
