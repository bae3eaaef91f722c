// The login page of local runs: a name and a role on the workflow service's built-in issuer.
import { $, api, busy, el, query, showProblem, signIn, siteHeader } from "/aset/app.js";

siteHeader();
const form = $("#masuk");
const roles = $("#peran");

// Listen before the roles load: a click meanwhile must not submit the form natively.
form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(form, async () => {
    const body = { name: $("#nama").value, role: roles.value || null };
    const answer = await api("/workflow/v1/auth/login", { method: "POST", json: body, auth: false });
    if (!answer.ok) return showProblem(form, answer.problem);
    signIn(answer.data.token);
    location.assign(destination());
  });
});

const info = await api("/workflow/v1/auth", { auth: false });
if (info.ok) {
  for (const role of info.data.roles) roles.append(el("option", { value: role.id }, role.label));
  if (!info.data.demo_login) {
    $("#mati").classList.remove("tersembunyi");
    form.classList.add("tersembunyi");
  }
}

function destination() {
  const next = query("lanjut");
  // Only a path on this origin: never an open redirect.
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/petugas";
}

