// A fragment that keeps itself current: an element with data-poll-url is replaced, every
// data-poll-seconds (default 1), by the server's fresh copy of it, for as long as the copy still carries
// data-poll-url (an import's progress stops asking once the import has finished). A failed fetch is tried
// again at the next tick. A file of its own: the CSP allows no inline script.
(function () {
  "use strict";

  function poll(element) {
    const url = element.getAttribute("data-poll-url");
    if (!url) return;
    const seconds = Number(element.getAttribute("data-poll-seconds")) || 1;
    window.setTimeout(function () {
      fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          const template = document.createElement("template");
          template.innerHTML = html.trim();
          const fresh = template.content.firstElementChild;
          if (!fresh) throw new Error("an empty fragment");
          element.replaceWith(fresh);
          poll(fresh);
        })
        .catch(function () { poll(element); });
    }, seconds * 1000);
  }

  document.querySelectorAll("[data-poll-url]").forEach(poll);
})();
