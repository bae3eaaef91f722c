// Sign-in at the office's identity provider: the authorization code flow with PKCE.
// start() (the login page) makes the state, the nonce and the code verifier, keeps them in this
// tab's sessionStorage and sends the officer to the provider; finish() (/petugas/masuk-sso, the
// redirect URI) checks the state and has workflow exchange the code (services/workflow/oidc.py):
// the page itself may reach only its own origin, and the client secret stays on the server.
import { api, signIn } from "/aset/app.js";

const PENDING_KEY = "aduan.sso";
const PENDING_MINUTES = 10;

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Where to go once signed in: only a path on this origin, never an open redirect. Resolved
 * as the browser would ("/\\host" and "/\t/host" are "//host" to it), then kept only if the
 * origin is still this one. */
export function destination(next) {
  if (!next) return "/petugas";
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return "/petugas";
  }
  return url.origin === location.origin ? url.pathname + url.search + url.hash : "/petugas";
}

/** Off to the provider; returns a problem (to show) if its address cannot be had. */
export async function start(next) {
  if (!globalThis.crypto?.subtle) {
    // Only a secure context (https, or this machine) has it: the PKCE challenge needs it.
    return { detail: "Masuk melalui penyedia identitas memerlukan alamat https. Buka Aduan melalui https." };
  }
  const answer = await api("/workflow/v1/auth/oidc", { auth: false });
  if (!answer.ok) return answer.problem;
  const { authorization_endpoint: endpoint, client_id, scope, redirect_uri, issuer, prompt } = answer.data;
  const pending = { state: random(), nonce: random(), verifier: random(), issuer, next, at: Date.now() };
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pending.verifier));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoint);
  for (const [key, value] of Object.entries({
    response_type: "code",
    client_id,
    redirect_uri,
    scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
    ...(prompt ? { prompt } : {}),
  })) {
    url.searchParams.set(key, value);
  }
  location.assign(url.href);
  return null;
}

function taken() {
  const text = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY); // one use only
  try {
    const pending = JSON.parse(text);
    return pending && Date.now() - pending.at < PENDING_MINUTES * 60_000 ? pending : null;
  } catch {
    return null;
  }
}

const STALE =
  "Permintaan masuk ini tidak dimulai dari halaman ini atau sudah kedaluwarsa. Silakan masuk lagi.";

/** Back from the provider: the token for the session and the page to go to, or a problem. */
export async function finish(params) {
  const pending = taken();
  if (params.get("error")) {
    const denied = params.get("error") === "access_denied";
    return {
      problem: {
        detail: denied
          ? "Masuk dibatalkan di penyedia identitas."
          : `Penyedia identitas menolak permintaan masuk (${params.get("error")}).`,
      },
    };
  }
  const issuer = params.get("iss");
  if (!pending || params.get("state") !== pending.state || (issuer && issuer !== pending.issuer)) {
    return { problem: { detail: STALE } };
  }
  const answer = await api("/workflow/v1/auth/oidc/token", {
    method: "POST",
    auth: false,
    json: { code: params.get("code") || "", code_verifier: pending.verifier, nonce: pending.nonce },
  });
  if (!answer.ok) return { problem: answer.problem };
  signIn(answer.data.token);
  return { next: destination(pending.next) };
}
