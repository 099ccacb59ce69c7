/* Copy buttons: <button type="button" data-copy-target="ID"> copies the text of the element with
   that id. Loaded with <script src> (the CSP forbids inline script). */
(function () {
  "use strict";

  function fallbackCopy(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const target = document.getElementById(button.dataset.copyTarget);
    if (!target) return;
    const text = target.textContent.trim();
    const copy = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text) : fallbackCopy(text);
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copy.then(function () {
      button.textContent = button.dataset.copiedText || "Copied";
    }, function () {
      button.textContent = button.dataset.failedText || "Copy failed: select the text and copy it";
    }).finally(function () {
      window.setTimeout(function () { button.textContent = label; }, 2500);
    });
  });
})();
