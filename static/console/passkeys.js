/* Passkeys (WebAuthn) on Gatehouse's pages: add one on the account security page, sign in with one on
   /login (a button, and the email field's autofill), or use one as the second factor.

   Each part is an element with data-options-url and data-verify-url: the server hands out options
   (and keeps their challenge), the browser's WebAuthn call answers them, the answer goes back as JSON.
   Loaded with <script src> (the CSP forbids inline script); safe to include more than once. */
(function () {
  "use strict";
  if (window.gatehousePasskeys) return;
  window.gatehousePasskeys = true;

  // ---------------------------------------------------------------- base64url <-> ArrayBuffer
  // Current Chromium has PublicKeyCredential.parse*OptionsFromJSON and credential.toJSON(); these
  // helpers cover browsers that do not.

  function toBuffer(value) {
    const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) { return Object.assign({}, d, { id: toBuffer(d.id) }); });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const r = credential.response;
    const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
    }
    return {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(), response: response,
    };
  }

  // ---------------------------------------------------------------- talking to the server

  function csrfToken(root) {
    const input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(root, url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(root) },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().catch(function () {
        return { error: "http_" + response.status, message: "The server refused the request (" + response.status +
          "). Reload the page and try again." };
      }).then(function (data) {
        if (!response.ok) {
          const error = new Error(data.message || "The request failed.");
          error.server = data;
          throw error;
        }
        return data;
      });
    });
  }

  function say(root, text) {
    const status = root.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  // What a person can do about each refusal of the browser's WebAuthn call.
  function browserError(error, creating) {
    if (error && error.server) return error.message;
    if (error && error.name === "InvalidStateError" && creating) {
      return "This device or password manager already holds a passkey for your account.";
    }
    if (error && error.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (error && error.name === "SecurityError") return "This browser refused passkeys for this address.";
    return "Something went wrong with the passkey: " + (error && error.message ? error.message : error);
  }

  function supported() {
    return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
  }

  // ---------------------------------------------------------------- add a passkey

  function setUpRegister(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!supported()) { say(form, "This browser cannot create passkeys."); return; }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      say(form, "Follow your browser's prompt to create the passkey…");
      post(form, form.dataset.optionsUrl).then(function (options) {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      }).then(function (credential) {
        const name = form.querySelector("input[name=name]");
        return post(form, form.dataset.verifyUrl, { credential: credentialJSON(credential), name: name ? name.value : "" });
      }).then(function (data) {
        // Added from the account page: show it there. Set up during sign-in: the sign-in goes on.
        if (data && data.redirect) window.location.assign(data.redirect);
        else window.location.reload();
      }).catch(function (error) {
        if (error && error.server && error.server.redirect) { window.location.assign(error.server.redirect); return; }
        say(form, browserError(error, true));
        button.disabled = false;
      });
    });
  }

  // ---------------------------------------------------------------- sign in with a passkey

  function signIn(root, mediation, signal) {
    let options = null;
    return post(root, root.dataset.optionsUrl).then(function (json) {
      options = json;
      const request = { publicKey: requestOptions(json) };
      if (mediation) request.mediation = mediation;
      if (signal) request.signal = signal;
      return navigator.credentials.get(request);
    }).then(function (credential) {
      if (!credential) throw new Error("No passkey was chosen.");
      say(root, "Checking the passkey…");
      return post(root, root.dataset.verifyUrl, { credential: credentialJSON(credential), next: root.dataset.next || "" })
        .catch(function (error) { signalUnknown(options, credential, error); throw error; });
    }).then(function (data) {
      window.location.assign(data.redirect);
    });
  }

  function setUpSignIn(root) {
    if (!supported()) return;
    root.hidden = false;
    const button = root.querySelector("[data-passkey-start]");
    let autofill = null;

    // Conditional UI: the email field's autofill lists this site's passkeys while the page is open.
    function startAutofill() {
      if (!PublicKeyCredential.isConditionalMediationAvailable) return;
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available || !root.hasAttribute("data-passkey-login")) return;
        autofill = new AbortController();
        signIn(root, "conditional", autofill.signal).catch(function (error) {
          if (error && error.name === "AbortError") return;
          say(root, browserError(error, false));
        });
      });
    }

    button.addEventListener("click", function () {
      if (autofill) { autofill.abort(); autofill = null; }
      button.disabled = true;
      say(root, "Follow your browser's prompt to use your passkey…");
      signIn(root).catch(function (error) {
        if (error && error.server && error.server.redirect) { window.location.assign(error.server.redirect); return; }
        say(root, browserError(error, false));
        button.disabled = false;
      });
    });
    startAutofill();
  }

  // ---------------------------------------------------------------- Signal API: keep devices in step

  // The account page lists the passkeys this account still accepts: a browser with the Signal API lets the
  // device or password manager drop one removed here, so it stops offering it.
  function signalAccepted() {
    const data = document.getElementById("passkey-signal");
    if (!data || typeof PublicKeyCredential.signalAllAcceptedCredentials !== "function") return;
    const accepted = JSON.parse(data.textContent);
    PublicKeyCredential.signalAllAcceptedCredentials({
      rpId: accepted.rpId, userId: accepted.userId, allAcceptedCredentialIds: accepted.credentialIds,
    }).catch(function () { /* advisory only: a browser may refuse it */ });
  }

  // A passkey the server no longer knows (removed here, or on another device): tell the authenticator.
  function signalUnknown(options, credential, error) {
    if (!error || !error.server || error.server.error !== "unknown_credential") return;
    if (typeof PublicKeyCredential.signalUnknownCredential !== "function") return;
    PublicKeyCredential.signalUnknownCredential({ rpId: options.rpId, credentialId: credential.id })
      .catch(function () { /* advisory only */ });
  }

  function start() {
    document.querySelectorAll("form[data-passkey-register]").forEach(setUpRegister);
    document.querySelectorAll("[data-passkey-login], [data-passkey-second-factor]").forEach(setUpSignIn);
    if (supported()) signalAccepted();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
