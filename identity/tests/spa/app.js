// A minimal single-page application on oidc-client-ts, used by identity/tests/test_browser_spa.py to
// drive Gatehouse as a public client: sign in (code + PKCE), revoke, sign out, silent sign-in.
// Its configuration comes from /config.json, which the test's static server answers.
"use strict";

const page = document.body.dataset.page;
const statusLine = document.getElementById("status");

function say(text) {
  statusLine.textContent = text;
}

function report(text) {
  document.getElementById("result").textContent = text;
}

// What the library reports: an OAuth error response carries its code in `error`.
function errorText(error) {
  return error instanceof oidc.ErrorResponse ? error.error : String(error.message || error);
}

async function userManager() {
  const response = await fetch("/config.json");
  const config = await response.json();
  return new oidc.UserManager({
    authority: config.authority,
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    post_logout_redirect_uri: config.post_logout_redirect_uri,
    silent_redirect_uri: config.silent_redirect_uri,
    response_type: "code",
    scope: "openid profile email",
    loadUserInfo: true,
    automaticSilentRenew: false,
    silentRequestTimeoutInSeconds: 5,
  });
}

// RFC 9207: when the provider says it sends `iss` with authorization responses, an answer without it, or
// naming another issuer, is refused. oidc-client-ts 3.5 does not check it, so this application does.
async function checkIssuer(manager, url) {
  const metadata = await manager.metadataService.getMetadata();
  if (!metadata.authorization_response_iss_parameter_supported) {
    return;
  }
  const iss = new URL(url).searchParams.get("iss");
  if (iss !== metadata.issuer) {
    throw new Error(`the authorization response names the issuer ${iss}, not ${metadata.issuer}`);
  }
}

async function fingerprint(token) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest).slice(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function showUser(user) {
  const table = document.getElementById("claims");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  if (!user) {
    table.hidden = true;
    document.getElementById("fingerprint").hidden = true;
    return;
  }
  for (const [claim, value] of Object.entries(user.profile)) {
    const row = body.insertRow();
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = claim;
    row.append(name);
    row.insertCell().textContent = typeof value === "string" ? value : JSON.stringify(value);
  }
  table.hidden = false;
  const line = document.getElementById("fingerprint");
  line.textContent = `Access token fingerprint: ${await fingerprint(user.access_token)}`;
  line.hidden = false;
}

function wireButtons(manager) {
  document.getElementById("sign-in").addEventListener("click", () => {
    manager.signinRedirect().catch((error) => report(`Sign-in failed: ${errorText(error)}`));
  });
  document.getElementById("revoke").addEventListener("click", async () => {
    try {
      await manager.revokeTokens();
      report("Tokens revoked.");
    } catch (error) {
      report(`Revocation failed: ${errorText(error)}`);
    }
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    // With `state`, oidc-client-ts sends one, and Gatehouse must bring it back to the post-logout URI.
    manager.signoutRedirect({ state: "signed-out" }).catch((error) => report(`Sign-out failed: ${errorText(error)}`));
  });
  document.getElementById("silent").addEventListener("click", async () => {
    report("Checking…");
    try {
      const user = await manager.signinSilent();
      await showUser(user);
      report(`Silent sign-in succeeded as ${user.profile.email}.`);
    } catch (error) {
      report(`Silent sign-in answered: ${errorText(error)}`);
    }
  });
}

async function main() {
  const manager = await userManager();
  if (page === "silent") {
    // Inside the hidden iframe: hand the answer to the parent only when it comes from our issuer; if it
    // does not, the parent's signinSilent() times out instead of reporting the error code.
    try {
      await checkIssuer(manager, location.href);
      await manager.signinCallback();
      say("Answer passed to the application.");
    } catch (error) {
      say(`Silent answer refused: ${errorText(error)}`);
    }
    return;
  }
  wireButtons(manager);
  if (page === "callback") {
    try {
      await checkIssuer(manager, location.href);
      await manager.signinRedirectCallback();
    } catch (error) {
      say(`Sign-in failed: ${errorText(error)}`);
      return;
    }
  } else if (new URL(location.href).searchParams.has("state")) {
    // Back from Gatehouse's end-session endpoint.
    const response = await manager.signoutRedirectCallback();
    say(response.userState === "signed-out" ? "Signed out." : `Signed out, with a stranger state: ${response.userState}`);
    return;
  }
  const user = await manager.getUser();
  await showUser(user);
  say(user ? `Signed in as ${user.profile.email}` : "Not signed in.");
}

main().catch((error) => say(`The application failed to start: ${errorText(error)}`));
