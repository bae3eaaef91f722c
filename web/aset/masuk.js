// The login page: username and password on the workflow service's built-in issuer, the office's
// identity provider when one is configured (sso.js), and on a local run (`make up` on one's own
// machine) the demo login by name and role, announced as such.
import { $, api, busy, el, query, showProblem, signIn, siteHeader } from "/aset/app.js";
import { destination as safeDestination, start } from "/aset/sso.js";

siteHeader();
const form = $("#masuk");
const demo = $("#masuk-demo");
const roles = $("#peran");

const sso = $("#sso");

function destination() {
  return safeDestination(query("lanjut"));
}

function submitTo(target, path, body) {
  target.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(target, async () => {
      const answer = await api(path, { method: "POST", json: body(), auth: false });
      if (!answer.ok) return showProblem(target, answer.problem);
      signIn(answer.data.token);
      location.assign(destination());
    });
  });
}

submitTo(form, "/workflow/v1/auth/sign-in", () => ({
  username: $("#pengguna").value,
  password: $("#sandi").value,
}));
submitTo(demo, "/workflow/v1/auth/login", () => ({ name: $("#nama").value, role: roles.value || null }));

$("#masuk-sso").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const problem = await start(destination());
    if (problem) showProblem(sso, problem);
  } finally {
    button.disabled = false;
  }
});

// Loaded after the listeners are in place: a click meanwhile must not submit a form natively.
const info = await api("/workflow/v1/auth", { auth: false });
if (info.ok) {
  for (const role of info.data.roles) roles.append(el("option", { value: role.id }, role.label));
  if (!info.data.password_login) {
    $("#mati").classList.remove("tersembunyi");
    form.classList.add("tersembunyi");
  }
  if (info.data.oidc_login) sso.classList.remove("tersembunyi");
  if (info.data.demo_login) $("#demo").classList.remove("tersembunyi");
}
